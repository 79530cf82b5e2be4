/* Shewu residents' requests (居民点单): a phone page for residents, and for grid workers filing
 * on a resident's behalf. Large type, big buttons, Chinese first.
 *
 * Data, as the signed-in user (session cookie), only from the gateway's API:
 *   - `GET api/auth/me` (role, grid), `GET api/requests/categories` (the choices, zh/en);
 *   - `POST api/requests/photos` (the photo as the raw body) → {photo}; then
 *     `POST api/requests` {category, description, preferred_time, photo?, home_id?} → the answer;
 *   - `GET api/requests`: a resident's home's requests, a grid worker's grid's, with the order's
 *     status; read every 15 s while the page is visible, at once when it becomes visible again
 *     and after every action (residents have no live feed, and a request moves in hours, not
 *     seconds: polling is enough, and a phone in a pocket keeps no socket open);
 *   - `POST api/requests/{order}/confirm` {rating, comment?} and `.../reopen` {reason};
 *   - grid workers and office staff: `GET api/homes?q=` for the home picker, and
 *     `GET api/orders/{id}` for an order's latest note (residents may not read timelines).
 * Every piece of data goes into the page through textContent or attributes, never as HTML. */
(function () {
  "use strict";

  var I18N = window.ShewuI18n;
  var S = window.Shewu;
  var t = I18N.t;
  var el = S.el;
  var setText = S.setText;
  var parseTime = S.parseTime;

  var POLL_MS = 15000;
  var PHOTO_MAX_BYTES = 5 * 1024 * 1024; // the gateway's limit (gateway/photos.py)
  var PHOTO_TYPES = { "image/jpeg": true, "image/png": true, "image/webp": true };
  var PHOTO_SHRINK_ABOVE = 2 * 1024 * 1024; // bigger photos are scaled down before sending (slow phones, slow links)
  var PHOTO_MAX_SIDE = 1600;
  var PHOTO_ID = /^[0-9a-f]{32}\.(jpg|png|webp)$/;
  var FINISHED = { closed: true, cancelled: true, missed: true };
  var MAX_FINISHED = 20;
  var OFFICE = S.OFFICE_ROLES;
  var FILERS = { resident: true, grid_worker: true, admin: true, dispatcher: true };
  var WHEN_KEYS = { morning: "rq.when.morning", afternoon: "rq.when.afternoon", tomorrow: "rq.when.tomorrow",
                    any: "rq.when.any" };

  var state = {
    me: null,              // {name, display_name, role, grid}
    categories: [],        // [{code, zh, en}]
    categoriesError: null,
    groups: new Map(),     // order id -> {order, filings (oldest first), stamp, el}
    loaded: false,
    listError: null,
    loadedAt: 0,
    loading: false,
    pollTimer: null,
    busy: new Set(),       // order ids with an action in flight
    open: null,            // {id, mode: "confirm" | "reopen", rating, text} while a card's form is open
    notes: new Map(),      // order id -> {stamp, note} (staff: the timeline's latest note)
    photo: null,           // {id, url, uploading, blob}
    photoSeq: 0,
    again: null,           // a list read queued after the one under way
    submitting: false,
    homeTimer: null,
    homes: new Map()       // home id -> {address, resident} (the picker's last answers)
  };

  var $ = function (id) { return document.getElementById(id); };
  var els = {};

  // ---- helpers -------------------------------------------------------------------------------

  function isStaff() { return !!(state.me && state.me.role !== "resident"); }
  function needsHome() { return !!(state.me && (state.me.role === "grid_worker" || OFFICE[state.me.role])); }
  function zh() { return I18N.lang === "zh"; }

  /** A category's name: as the request carries it, else from the category list, else the code. */
  function categoryName(code, nameZh, nameEn) {
    var own = zh() ? nameZh : nameEn;
    if (own) return String(own);
    for (var i = 0; i < state.categories.length; i++) {
      var c = state.categories[i];
      if (c.code === code) return zh() ? c.zh : c.en;
    }
    return I18N.tOr("kind." + code, String(code));
  }

  /** The server answers in both languages, "中文 / English": the part for the page's language. */
  function answerText(answer) {
    var s = String(answer || "");
    var at = s.indexOf(" / ");
    if (at < 0) return s;
    return zh() ? s.slice(0, at) : s.slice(at + 3);
  }

  function stars(n) {
    var k = Math.max(0, Math.min(5, Number(n) || 0));
    return "★★★★★".slice(0, k) + "☆☆☆☆☆".slice(0, 5 - k);
  }

  /** "HH:MM" today, "MM-DD HH:MM" on another day. */
  function fmtTime(s) {
    var ms = parseTime(s);
    if (ms === null) return t("field.none");
    if (S.fmtDate(ms) === S.fmtDate(Date.now())) return S.fmtHm(ms);
    var d = new Date(ms);
    return S.pad2(d.getMonth() + 1) + "-" + S.pad2(d.getDate()) + " " + S.fmtHm(ms);
  }

  function mmdd(offsetDays) {
    var d = new Date(Date.now() + offsetDays * 86400000);
    return S.pad2(d.getMonth() + 1) + "-" + S.pad2(d.getDate());
  }

  // ---- messages ------------------------------------------------------------------------------

  function showMessage(kind, text) {
    var box = el("div", "msg msg-" + kind);
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.appendChild(el("span", "msg-text", text));
    var close = el("button", "msg-close", t("error.dismiss"));
    close.type = "button";
    close.addEventListener("click", function () { box.remove(); });
    box.appendChild(close);
    els.messages.appendChild(box);
    while (els.messages.children.length > 3) els.messages.removeChild(els.messages.firstElementChild);
    setTimeout(function () { box.remove(); }, kind === "error" ? 20000 : 5000);
  }

  // ---- who am I ------------------------------------------------------------------------------

  function loadMe() {
    return S.api("/api/auth/me").then(function (r) {
      if (!r.ok || !r.data || !r.data.role) return;
      state.me = { name: String(r.data.name || ""), display_name: r.data.display_name || "",
                   role: String(r.data.role), grid: r.data.grid || "" };
      renderMe();
      if (FILERS[state.me.role]) {
        schedulePoll(0);
      } else {
        state.loaded = true;
        renderList();
      }
    });
  }

  function renderMe() {
    var me = state.me;
    if (!me) { setText(els.who, ""); return; }
    var who = (me.display_name || me.name) + " · " + I18N.tOr("role." + me.role, me.role);
    if (me.role === "grid_worker" && me.grid) who += " · " + t("field.grid") + " " + me.grid;
    setText(els.who, who);
    var filer = !!FILERS[me.role];
    els.fileSection.hidden = !filer;
    els.listSection.hidden = !filer;
    els.homeStep.hidden = !needsHome();
    setText(els.listHeading, t(me.role === "resident" ? "rq.mine" : me.role === "grid_worker" ? "rq.grid" : "rq.all"));
    if (!filer) {
      els.notice.hidden = false;
      setText(els.noticeText, t("rq.notFor"));
      els.noticeLink.hidden = false;
      els.noticeLink.href = me.role === "technician" ? "/tech.html" : "/";
      setText(els.noticeLink, t(me.role === "technician" ? "rq.toTech" : "rq.toBoard"));
    } else if (OFFICE[me.role]) {
      els.notice.hidden = false;
      setText(els.noticeText, "");
      els.noticeLink.hidden = false;
      els.noticeLink.href = "/";
      setText(els.noticeLink, t("rq.toBoard"));
    } else {
      els.notice.hidden = true;
    }
  }

  // ---- the form: categories ------------------------------------------------------------------

  function loadCategories() {
    return S.api("/api/requests/categories").then(function (r) {
      if (r.ok && Array.isArray(r.data)) {
        state.categories = r.data.filter(function (c) { return c && c.code; }).map(function (c) {
          return { code: String(c.code), zh: String(c.zh || c.code), en: String(c.en || c.code) };
        });
        state.categoriesError = null;
      } else if (r.status !== 401) {
        state.categoriesError = r.detail;
      }
      renderCategories();
      renderList();
    });
  }

  function renderCategories() {
    var box = els.categories;
    var picked = box.querySelector("input[name=category]:checked");
    var keep = picked ? picked.value : null;
    box.textContent = "";
    if (state.categoriesError) {
      box.appendChild(el("p", "form-error", t("rq.categoriesFailed", { detail: state.categoriesError })));
      return;
    }
    if (!state.categories.length) {
      box.appendChild(el("p", "hint", t("loading")));
      return;
    }
    state.categories.forEach(function (c) {
      var label = el("label", "choice category cat-" + c.code.replace(/[^a-z_]/g, ""));
      label.dataset.code = c.code;
      var input = el("input");
      input.type = "radio";
      input.name = "category";
      input.value = c.code;
      input.checked = c.code === keep;
      label.appendChild(input);
      label.appendChild(S.iconFor ? S.iconFor(c.code) : S.icon(c.code));
      label.appendChild(el("span", "choice-text", zh() ? c.zh : c.en));
      box.appendChild(label);
    });
  }

  // ---- the form: the home (grid workers, office) ---------------------------------------------

  function onHomeInput() {
    clearTimeout(state.homeTimer);
    renderHomeInfo();
    var q = els.homeInput.value.trim();
    if (!q) return;
    state.homeTimer = setTimeout(function () { searchHomes(q); }, 250);
  }

  function searchHomes(q) {
    var params = new URLSearchParams({ q: q, limit: "20" });
    if (state.me && state.me.role === "grid_worker" && state.me.grid) params.set("grid", state.me.grid);
    S.api("/api/homes?" + params.toString()).then(function (r) {
      if (!r.ok || !Array.isArray(r.data)) return; // the field still takes a typed home id
      if (els.homeInput.value.trim() !== q) return;
      els.homeList.textContent = "";
      r.data.forEach(function (h) {
        if (!h || !h.home_id) return;
        state.homes.set(String(h.home_id), { address: h.address || "", resident: h.resident || "" });
        var opt = el("option");
        opt.value = String(h.home_id);
        opt.label = [h.address, h.resident].filter(Boolean).join(" · ");
        els.homeList.appendChild(opt);
      });
      renderHomeInfo();
    });
  }

  function renderHomeInfo() {
    var id = els.homeInput.value.trim();
    var h = state.homes.get(id);
    els.homeInfo.classList.remove("bad");
    if (h) setText(els.homeInfo, t("rq.homeFound", { address: h.address || id, resident: h.resident || t("field.none") }));
    else setText(els.homeInfo, "");
  }

  // ---- the form: the photo -------------------------------------------------------------------

  function setPhotoStatus(text, bad) {
    setText(els.photoStatus, text || "");
    els.photoStatus.classList.toggle("bad", !!bad);
  }

  function clearPhoto() {
    if (state.photo && state.photo.url) URL.revokeObjectURL(state.photo.url);
    state.photo = null;
    state.photoSeq += 1;
    els.photoInput.value = "";
    els.photoPreview.hidden = true;
    els.photoThumb.removeAttribute("src");
    setText(els.photoButtonText, t("rq.photoAdd"));
  }

  /** A photo as a JPEG no larger than PHOTO_MAX_SIDE; resolves null when the browser cannot read it. */
  function shrink(file) {
    return new Promise(function (resolve) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () {
        var w = img.naturalWidth, h = img.naturalHeight;
        if (!w || !h) { URL.revokeObjectURL(url); resolve(null); return; }
        var scale = Math.min(1, PHOTO_MAX_SIDE / Math.max(w, h));
        var canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(w * scale));
        canvas.height = Math.max(1, Math.round(h * scale));
        var ctx = canvas.getContext("2d");
        ctx.fillStyle = "#fff";
        ctx.fillRect(0, 0, canvas.width, canvas.height);
        ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        if (!canvas.toBlob) { resolve(null); return; }
        canvas.toBlob(function (blob) { resolve(blob); }, "image/jpeg", 0.85);
      };
      img.onerror = function () { URL.revokeObjectURL(url); resolve(null); };
      img.src = url;
    });
  }

  function onPhotoChosen() {
    var file = els.photoInput.files && els.photoInput.files[0];
    if (!file) return;
    var seq = ++state.photoSeq;
    if (state.photo && state.photo.url) URL.revokeObjectURL(state.photo.url);
    state.photo = null;
    els.photoPreview.hidden = true;
    var okType = PHOTO_TYPES[file.type] === true;
    if (file.type && !/^image\//.test(file.type)) {
      setPhotoStatus(t("rq.photoType"), true);
      els.photoInput.value = "";
      return;
    }
    var ready;
    if (okType && file.size <= PHOTO_SHRINK_ABOVE) {
      ready = Promise.resolve(file);
    } else {
      setPhotoStatus(t("rq.photoShrinking"), false);
      ready = shrink(file).then(function (blob) {
        if (blob && blob.size <= PHOTO_MAX_BYTES) return blob;
        if (okType && file.size <= PHOTO_MAX_BYTES) return file; // could not shrink it; it fits anyway
        return { error: blob || okType ? "rq.photoSize" : "rq.photoType" };
      });
    }
    ready.then(function (blob) {
      if (seq !== state.photoSeq) return;
      if (!blob || blob.error) {
        setPhotoStatus(t(blob ? blob.error : "rq.photoType"), true);
        els.photoInput.value = "";
        return;
      }
      upload(blob, seq);
    });
  }

  function upload(blob, seq) {
    var url = URL.createObjectURL(blob);
    state.photo = { id: null, url: url, uploading: true };
    els.photoThumb.src = url;
    els.photoPreview.hidden = false;
    els.photoPreview.classList.add("uploading");
    setText(els.photoButtonText, t("rq.photoChange"));
    setPhotoStatus(t("rq.photoUploading"), false);
    S.upload("/api/requests/photos", blob, { contentType: blob.type || "image/jpeg" }).then(function (r) {
      if (seq !== state.photoSeq) return;
      els.photoPreview.classList.remove("uploading");
      if (r.ok && r.data && typeof r.data.photo === "string") {
        state.photo.id = r.data.photo;
        state.photo.uploading = false;
        setPhotoStatus(t("rq.photoDone"), false);
        return;
      }
      var text = r.status === 413 ? t("rq.photoSize") : r.status === 415 ? t("rq.photoType")
        : r.status === 0 ? r.detail : t("rq.photoFailed", { detail: r.detail });
      clearPhoto();
      setPhotoStatus(text, true);
    });
  }

  // ---- the form: sending ---------------------------------------------------------------------

  function preferredTime() {
    var picked = els.form.querySelector("input[name=when]:checked");
    var key = picked ? picked.value : "any";
    // Always in Chinese, with the date: the office reads it later, maybe on another day.
    var zhLabel = I18N.DICT.zh[WHEN_KEYS[key]] || "";
    var base = key === "morning" || key === "afternoon" ? zhLabel + " " + mmdd(0)
      : key === "tomorrow" ? zhLabel + " " + mmdd(1) : zhLabel;
    var extra = els.whenText.value.trim();
    var text = extra ? (key === "any" ? extra : base + "；" + extra) : base;
    return text.slice(0, 64);
  }

  function showFormError(text, focus) {
    setText(els.formError, text || "");
    if (text && focus) focus.focus();
  }

  function submit(ev) {
    ev.preventDefault();
    if (state.submitting) return;
    var body = {};
    if (needsHome()) {
      var home = els.homeInput.value.trim();
      if (!home) { showFormError(t("rq.homeRequired"), els.homeInput); return; }
      body.home_id = home;
    }
    var cat = els.categories.querySelector("input[name=category]:checked");
    if (!cat) {
      showFormError(t("rq.categoryRequired"));
      var first = els.categories.querySelector("input[name=category]");
      if (first) first.focus();
      return;
    }
    var description = els.description.value.trim();
    if (!description) { showFormError(t("rq.describeRequired"), els.description); return; }
    if (state.photo && state.photo.uploading) { showFormError(t("rq.photoWait")); return; }
    body.category = cat.value;
    body.description = description;
    body.preferred_time = preferredTime();
    if (state.photo && state.photo.id) body.photo = state.photo.id;
    showFormError("");
    setSubmitting(true);
    S.api("/api/requests", { method: "POST", body: body }).then(function (r) {
      setSubmitting(false);
      if (r.ok && r.data && typeof r.data === "object") {
        showAnswer(r.data);
        resetForm();
        refresh();
        return;
      }
      if (r.status === 401) return;
      var text = r.status === 0 ? r.detail
        : r.status === 409 && state.me && state.me.role === "resident" ? t("rq.err.noHome")
        : r.status === 403 ? t("rq.err.forbidden", { detail: r.detail })
        : r.status === 404 ? t("rq.err.home", { detail: body.home_id || r.detail })
        : r.status === 422 ? t("rq.err.invalid", { detail: r.detail })
        : t("rq.err.failed", { detail: r.detail });
      showFormError(text);
    });
  }

  function setSubmitting(on) {
    state.submitting = on;
    els.submit.disabled = on;
    setText(els.submit, t(on ? "rq.submitting" : "rq.submit"));
  }

  function resetForm() {
    els.description.value = "";
    els.whenText.value = "";
    var cats = els.categories.querySelectorAll("input[name=category]");
    for (var i = 0; i < cats.length; i++) cats[i].checked = false;
    var any = els.form.querySelector("input[name=when][value=any]");
    if (any) any.checked = true;
    clearPhoto();
    setPhotoStatus("", false);
  }

  function showAnswer(data) {
    state.answer = data;
    renderAnswer();
    els.form.hidden = true;
    els.answer.hidden = false;
    els.answer.focus();
    if (els.answer.scrollIntoView) els.answer.scrollIntoView({ block: "start" });
  }

  function renderAnswer() {
    var a = state.answer;
    if (!a) return;
    els.answer.classList.toggle("linked", !!a.linked);
    els.answer.dataset.orderId = String(a.order_id);
    setText(els.answerTitle, t(a.linked ? "rq.answerLinked" : "rq.answerTitle", { id: a.order_id }));
    setText(els.answerText, answerText(a.answer));
  }

  function fileAnother() {
    state.answer = null;
    els.answer.hidden = true;
    els.form.hidden = false;
    els.description.focus();
  }

  // ---- the list ------------------------------------------------------------------------------

  function schedulePoll(delay) {
    clearTimeout(state.pollTimer);
    state.pollTimer = setTimeout(poll, delay);
  }

  function poll() {
    if (document.hidden) { schedulePoll(POLL_MS); return; } // again when visible (visibilitychange)
    refresh().then(function () { schedulePoll(POLL_MS); });
  }

  /** Read the list now; a read already under way is followed by another (it may predate what
   * the caller just did). */
  function refresh() {
    if (!state.me || !FILERS[state.me.role]) return Promise.resolve();
    if (state.loading) {
      if (!state.again) {
        state.again = state.loading.then(function () { state.again = null; return refresh(); });
      }
      return state.again;
    }
    state.loading = S.api("/api/requests?limit=200").then(function (r) {
      state.loading = false;
      if (r.ok && Array.isArray(r.data)) {
        state.listError = null;
        state.loaded = true;
        state.loadedAt = Date.now();
        applyRequests(r.data);
      } else if (r.status !== 401) {
        state.listError = r.status === 0 ? r.detail : t("rq.listFailed", { detail: r.detail });
      }
      renderList();
    });
    return state.loading;
  }

  /** Filings by order: one card per order, the filings joined to it listed on it. */
  function applyRequests(rows) {
    var next = new Map();
    rows.forEach(function (q) {
      if (!q || q.order_id === undefined || q.order_id === null || !q.order) return;
      var g = next.get(q.order_id);
      if (!g) {
        var old = state.groups.get(q.order_id);
        g = { order: q.order, filings: [], stamp: "", el: old ? old.el : null, oldStamp: old ? old.stamp : null,
              renderedLang: old ? old.renderedLang : null };
        next.set(q.order_id, g);
      }
      g.filings.push(q);
    });
    next.forEach(function (g) {
      g.filings.sort(function (a, b) { return (a.id || 0) - (b.id || 0); });
      g.stamp = stampOf(g);
      if (isStaff()) loadNote(g);
    });
    state.groups = next;
    if (state.open) {
      var g = next.get(state.open.id);
      if (!g || g.order.status !== "resolved") state.open = null; // confirmed or reopened elsewhere
    }
  }

  /** What a card shows, in one string: the card is rebuilt only when this changes. */
  function stampOf(g) {
    return JSON.stringify([g.order.status, g.order.event_count, g.order.cancel_reason,
      g.filings.map(function (q) { return [q.id, q.rating, q.rating_comment]; }), noteOf(g)]);
  }

  function sortKey(g) {
    var o = g.order;
    var rank = o.status === "resolved" ? 0 : FINISHED[o.status] ? 2 : 1; // what needs you first
    var last = g.filings[g.filings.length - 1];
    return { rank: rank, at: parseTime(last && last.filed_at) || 0, id: o.id };
  }

  function sortedGroups() {
    var list = Array.from(state.groups.values());
    list.sort(function (a, b) {
      var ka = sortKey(a), kb = sortKey(b);
      if (ka.rank !== kb.rank) return ka.rank - kb.rank;
      if (ka.at !== kb.at) return kb.at - ka.at;
      return kb.id - ka.id;
    });
    return list;
  }

  function renderList() {
    els.listError.hidden = !state.listError;
    setText(els.listError, state.listError || "");
    setText(els.listUpdated, state.loadedAt ? t("rq.updated", { time: S.fmtHm(state.loadedAt) }) : "");
    var list = sortedGroups();
    var finished = 0, hidden = 0;
    var shown = [];
    list.forEach(function (g) {
      if (FINISHED[g.order.status]) {
        finished += 1;
        if (finished > MAX_FINISHED) { hidden += 1; return; }
      }
      shown.push(g);
    });
    var container = els.requests;
    var keep = new Set();
    shown.forEach(function (g) {
      var open = state.open && state.open.id === g.order.id;
      var changed = !g.el || g.stamp !== g.oldStamp || g.renderedLang !== I18N.lang;
      // Someone typing in the card's form keeps it as it is (the form is still right: the
      // order is still resolved, or state.open would have been dropped).
      var typing = open && g.el && g.el.contains(document.activeElement) && g.renderedLang === I18N.lang;
      if (changed && !typing) {
        var card = buildCard(g);
        if (g.el && g.el.parentNode) g.el.parentNode.replaceChild(card, g.el);
        g.el = card;
      }
      g.oldStamp = g.stamp;
      keep.add(g.el);
    });
    Array.from(container.children).forEach(function (node) { if (!keep.has(node)) node.remove(); });
    // In order, moving only what is out of place (a card being typed in stays where it is).
    var child = container.firstElementChild;
    shown.forEach(function (g) {
      if (child === g.el) child = child.nextElementSibling;
      else container.insertBefore(g.el, child);
    });
    if (hidden) {
      var more = el("li", "more-note", t("rq.more", { count: hidden }));
      container.appendChild(more);
    }
    var waiting = list.filter(function (g) { return g.order.status === "resolved"; }).length;
    els.attention.hidden = waiting === 0;
    setText(els.attention, waiting ? t("rq.attention", { count: waiting }) : "");
    var empty = state.loaded && !state.listError && shown.length === 0;
    els.listEmpty.hidden = !empty;
    setText(els.listEmpty, empty ? t("rq.empty") : "");
  }

  function buildCard(g) {
    var o = g.order;
    var id = o.id;
    var status = String(o.status);
    var first = g.filings[0];
    g.renderedLang = I18N.lang;
    g.busy = state.busy.has(id);

    var li = el("li", "rcard st-" + status.replace(/[^a-z_]/g, ""));
    li.dataset.orderId = String(id);
    li.dataset.status = status;
    if (g.busy) li.classList.add("busy");

    var head = el("div", "rcard-head");
    var kind = el("span", "rcard-kind");
    kind.appendChild(S.iconFor ? S.iconFor(o.kind || first.category) : S.icon(o.kind));
    var kindText = el("span", null, categoryName(first.category, first.category_zh, first.category_en));
    kindText.dataset.role = "category";
    kind.appendChild(kindText);
    head.appendChild(kind);
    head.appendChild(el("span", "rcard-id", t("rq.order", { id: id })));
    li.appendChild(head);

    var badge = el("div", "rcard-status", I18N.tOr("rq.st." + status, I18N.tOr("status." + status, status)));
    badge.dataset.role = "status";
    li.appendChild(badge);
    li.appendChild(el("p", "rcard-explain", I18N.tOr("rq.stx." + status, "")));

    var facts = el("dl", "rcard-facts");
    function fact(key, value, role) {
      var wrap = el("div", "fact");
      wrap.appendChild(el("dt", null, t(key)));
      var dd = el("dd", null, value);
      if (role) dd.dataset.role = role;
      wrap.appendChild(dd);
      facts.appendChild(wrap);
    }
    if (isStaff()) {
      var where = [o.address, o.resident].filter(Boolean).join(" · ") || String(first.home_id || "");
      fact("rq.homeOf", where, "home");
    }
    fact("rq.youSaid", String(first.description || ""), "description");
    for (var i = 1; i < g.filings.length; i++) fact("rq.added", String(g.filings[i].description || ""), "added");
    var preferred = g.filings.map(function (q) { return q.preferred_time; }).filter(Boolean);
    if (preferred.length) fact("rq.preferred", String(preferred[preferred.length - 1]), "preferred");
    fact("rq.filedAt", first.on_behalf ? t("rq.onBehalf", { time: fmtTime(first.filed_at) }) : fmtTime(first.filed_at),
         "filed");
    li.appendChild(facts);

    var photos = g.filings.filter(function (q) { return typeof q.photo === "string" && PHOTO_ID.test(q.photo); });
    if (photos.length) {
      var strip = el("div", "rcard-photos");
      photos.slice(0, 4).forEach(function (q) {
        var a = el("a", "rcard-photo");
        a.href = "/api/requests/photos/" + encodeURIComponent(q.photo);
        a.target = "_blank";
        a.rel = "noopener";
        var img = el("img");
        img.src = a.href;
        img.alt = t("rq.photoAlt");
        img.loading = "lazy";
        a.appendChild(img);
        strip.appendChild(a);
      });
      li.appendChild(strip);
    }

    var note = noteOf(g);
    if (note) {
      var n = el("div", "rcard-note");
      n.appendChild(el("span", "note-key", t(note.reply ? "rq.reply" : "rq.latest")));
      var nt = el("span", "note-text", note.text);
      nt.dataset.role = "note";
      n.appendChild(nt);
      li.appendChild(n);
    }

    var rated = g.filings.filter(function (q) { return q.rating; })[0];
    if (rated) {
      var r = el("div", "rcard-rating");
      r.appendChild(el("span", "note-key", t("rq.yourRating")));
      var stars_ = el("span", "stars", stars(rated.rating));
      stars_.dataset.role = "rating";
      stars_.setAttribute("aria-label", t("rq.star", { n: rated.rating }));
      r.appendChild(stars_);
      if (rated.rating_comment) r.appendChild(el("span", "rating-comment", String(rated.rating_comment)));
      li.appendChild(r);
    }

    var err = el("p", "rcard-error");
    err.dataset.role = "error";
    err.setAttribute("role", "alert");
    err.hidden = true;
    li.appendChild(err);

    if (status === "resolved") {
      if (state.open && state.open.id === id) li.appendChild(buildForm(g, state.open));
      else {
        var actions = el("div", "rcard-actions");
        var yes = el("button", "big primary act-confirm", t("rq.confirm"));
        yes.type = "button";
        yes.dataset.action = "confirm";
        yes.dataset.orderId = String(id);
        yes.disabled = g.busy;
        var no = el("button", "big secondary act-reopen", t("rq.reopen"));
        no.type = "button";
        no.dataset.action = "reopen";
        no.dataset.orderId = String(id);
        no.disabled = g.busy;
        actions.appendChild(yes);
        actions.appendChild(no);
        li.appendChild(actions);
      }
    }
    return li;
  }

  /** The confirm (stars + comment) or reopen (reason) form inside a resolved card. */
  function buildForm(g, open) {
    var id = g.order.id;
    var form = el("form", "rcard-form form-" + open.mode);
    form.noValidate = true;
    form.dataset.orderId = String(id);
    form.dataset.mode = open.mode;
    if (open.mode === "confirm") {
      var fs = el("fieldset", "stars-field");
      fs.appendChild(el("legend", null, t("rq.rateTitle")));
      var row = el("div", "star-row");
      for (var n = 1; n <= 5; n++) {
        var label = el("label", "star");
        label.title = t("rq.star", { n: n });
        var input = el("input");
        input.type = "radio";
        input.name = "rating-" + id;
        input.value = String(n);
        input.checked = open.rating === n;
        input.setAttribute("aria-label", t("rq.star", { n: n }));
        label.appendChild(input);
        label.appendChild(el("span", "star-glyph", "★"));
        if (open.rating && n <= open.rating) label.classList.add("on");
        row.appendChild(label);
      }
      fs.appendChild(row);
      form.appendChild(fs);
      var cl = el("label", "sub-field");
      cl.appendChild(el("span", null, t("rq.comment")));
      var comment = el("textarea", "text-input");
      comment.rows = 2;
      comment.maxLength = 1000;
      comment.name = "comment";
      comment.placeholder = t("rq.commentPlaceholder");
      comment.value = open.text || "";
      cl.appendChild(comment);
      form.appendChild(cl);
    } else {
      var rl = el("label", "sub-field");
      rl.appendChild(el("span", "form-title", t("rq.reopenTitle")));
      var reason = el("textarea", "text-input");
      reason.rows = 3;
      reason.maxLength = 500;
      reason.name = "reason";
      reason.placeholder = t("rq.reopenPlaceholder");
      reason.value = open.text || "";
      rl.appendChild(reason);
      form.appendChild(rl);
    }
    var error = el("p", "form-error");
    error.dataset.role = "form-error";
    error.setAttribute("role", "alert");
    form.appendChild(error);
    var buttons = el("div", "rcard-actions");
    var send = el("button", "big primary act-" + open.mode + "-send", t(open.mode === "confirm" ? "rq.sendRating" : "rq.sendReopen"));
    send.type = "submit";
    send.dataset.action = open.mode + "-send";
    send.disabled = state.busy.has(id);
    var back = el("button", "big quiet", t("rq.back"));
    back.type = "button";
    back.dataset.action = "back";
    buttons.appendChild(send);
    buttons.appendChild(back);
    form.appendChild(buttons);
    return form;
  }

  /** The latest word on an order: the timeline's latest note (staff; or the API's
   * last_note where it has one), else why it was cancelled, else the answer to the last filing. */
  function noteOf(g) {
    var o = g.order;
    var last = g.filings[g.filings.length - 1];
    if (last && last.last_note) {
      var ln = last.last_note;
      var text = typeof ln === "string" ? ln : ln && ln.note;
      if (text) return { text: String(text) };
    }
    var staff = state.notes.get(o.id);
    if (staff && staff.note) return { text: staff.note };
    if (o.status === "cancelled" && o.cancel_reason) return { text: String(o.cancel_reason) };
    // The answer matters when a filing joined an order already open: say which.
    if (last && last.linked && last.answer && !FINISHED[o.status]) return { text: answerText(last.answer), reply: true };
    return null;
  }

  /** Staff may read the timeline: its latest note (what the technician wrote on resolving, ...). */
  function loadNote(g) {
    var o = g.order;
    if (FINISHED[o.status]) return;
    var stamp = o.status + "|" + o.event_count + "|" + (o.dispatched_at || "") + "|" + (o.resolved_at || "");
    var known = state.notes.get(o.id);
    if (known && known.stamp === stamp) return;
    state.notes.set(o.id, { stamp: stamp, note: known ? known.note : null });
    S.api("/api/orders/" + encodeURIComponent(o.id)).then(function (r) {
      if (!r.ok || !r.data || !Array.isArray(r.data.timeline)) return;
      var note = null;
      r.data.timeline.forEach(function (e) {
        if (!e || e.action === "opened" || e.action === "linked_request") return; // the resident's own words
        var text = typeof e.note === "string" ? e.note.trim() : "";
        if (e.action === "third_party" && e.data && e.data.party) text = String(e.data.party) + (text ? "：" + text : "");
        if (text) note = text;
      });
      var mark = state.notes.get(o.id);
      if (!mark || mark.stamp !== stamp) return;
      mark.note = note;
      var now = state.groups.get(o.id);
      if (now) {
        now.stamp = stampOf(now);
        renderList();
      }
    });
  }

  // ---- confirm and reopen --------------------------------------------------------------------

  function onListClick(ev) {
    var star = ev.target.closest("label.star");
    if (star) {
      var input = star.querySelector("input");
      if (input && state.open) {
        state.open.rating = Number(input.value);
        paintStars(star.parentNode, state.open.rating);
      }
      return;
    }
    var btn = ev.target.closest("button[data-action]");
    if (!btn || btn.disabled) return;
    var card = btn.closest("li.rcard");
    if (!card) return;
    var id = Number(card.dataset.orderId);
    var g = state.groups.get(id);
    if (!g) return;
    var action = btn.dataset.action;
    if (action === "confirm" || action === "reopen") {
      state.open = { id: id, mode: action, rating: 0, text: "" };
      rebuild(g);
      var focus = g.el.querySelector(action === "confirm" ? "label.star input" : "textarea");
      if (focus) focus.focus();
    } else if (action === "back") {
      state.open = null;
      rebuild(g);
    }
  }

  function paintStars(row, rating) {
    var labels = row.querySelectorAll("label.star");
    for (var i = 0; i < labels.length; i++) labels[i].classList.toggle("on", i < rating);
  }

  function rebuild(g) {
    var card = buildCard(g);
    if (g.el && g.el.parentNode) g.el.parentNode.replaceChild(card, g.el);
    g.el = card;
  }

  function onListInput(ev) {
    if (!state.open) return;
    if (ev.target.matches("textarea")) state.open.text = ev.target.value;
    if (ev.target.matches("input[type=radio]")) {
      state.open.rating = Number(ev.target.value);
      var row = ev.target.closest(".star-row");
      if (row) paintStars(row, state.open.rating);
    }
  }

  function onListSubmit(ev) {
    var form = ev.target.closest("form.rcard-form");
    if (!form) return;
    ev.preventDefault();
    var id = Number(form.dataset.orderId);
    var g = state.groups.get(id);
    if (!g || !state.open || state.open.id !== id || state.busy.has(id)) return;
    var error = form.querySelector("[data-role=form-error]");
    var path, body, done;
    if (state.open.mode === "confirm") {
      var picked = form.querySelector("input[type=radio]:checked");
      var rating = picked ? Number(picked.value) : state.open.rating;
      if (!rating) { setText(error, t("rq.ratingRequired")); return; }
      var comment = (form.querySelector("textarea").value || "").trim();
      path = "/api/requests/" + encodeURIComponent(id) + "/confirm";
      body = { rating: rating };
      if (comment) body.comment = comment;
      done = "rq.confirmed";
    } else {
      var reason = (form.querySelector("textarea").value || "").trim();
      if (!reason) { setText(error, t("rq.reasonRequired")); form.querySelector("textarea").focus(); return; }
      path = "/api/requests/" + encodeURIComponent(id) + "/reopen";
      body = { reason: reason };
      done = "rq.reopened";
    }
    setText(error, "");
    state.busy.add(id);
    var buttons = form.querySelectorAll("button");
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = true;
    S.api(path, { method: "POST", body: body }).then(function (r) {
      state.busy.delete(id);
      if (r.ok) {
        state.open = null;
        if (r.data && r.data.status) {
          g.order = r.data; // show the new status at once; the list read that follows has the rest
          g.stamp = stampOf(g);
        }
        showMessage("ok", t(done, { id: id }));
        renderList();
        refresh();
        return;
      }
      for (var j = 0; j < buttons.length; j++) buttons[j].disabled = false;
      if (r.status === 401) return;
      var text = r.status === 0 ? r.detail : t("rq.actionFailed", { detail: r.detail });
      setText(error, text);
      if (r.status === 409) refresh(); // it moved on meanwhile (closed after 72 h, reopened, ...)
    });
  }

  // ---- texts ---------------------------------------------------------------------------------

  function applyTexts() {
    S.applyStaticTexts();
    document.title = t("rq.title");
    S.renderHeader(null); // who is signed in: renderMe(), with the grid
    setText(els.submit, t(state.submitting ? "rq.submitting" : "rq.submit"));
    setText(els.photoButtonText, t(state.photo ? "rq.photoChange" : "rq.photoAdd"));
    renderMe();
    renderCategories();
    renderAnswer();
    renderHomeInfo();
    renderList();
  }

  function init() {
    els = {
      fileSection: $("file-section"), listSection: $("list-section"), form: $("request-form"),
      homeStep: $("home-step"), homeInput: $("home-input"), homeList: $("home-list"), homeInfo: $("home-info"),
      categories: $("categories"), description: $("description"), whenText: $("when-text"),
      photoInput: $("photo-input"), photoPreview: $("photo-preview"), photoThumb: $("photo-thumb"),
      photoRemove: $("photo-remove"), photoStatus: $("photo-status"),
      photoButtonText: document.querySelector("#photo-button span"),
      formError: $("form-error"), submit: $("submit"),
      answer: $("answer"), answerTitle: $("answer-title"), answerText: $("answer-text"), answerAgain: $("answer-again"),
      listHeading: $("list-heading"), listUpdated: $("list-updated"), listError: $("list-error"),
      requests: $("requests"), listEmpty: $("list-empty"), refresh: $("refresh"),
      who: $("who"), notice: $("notice"), noticeText: $("notice-text"), noticeLink: $("notice-link"),
      messages: $("messages"), attention: $("attention")
    };
    I18N.load();
    applyTexts();
    els.form.addEventListener("submit", submit);
    els.form.addEventListener("change", function () { setText(els.formError, ""); });
    els.photoInput.addEventListener("change", onPhotoChosen);
    els.photoRemove.addEventListener("click", function () { clearPhoto(); setPhotoStatus("", false); });
    els.homeInput.addEventListener("input", onHomeInput);
    els.answerAgain.addEventListener("click", fileAnother);
    els.requests.addEventListener("click", onListClick);
    els.requests.addEventListener("input", onListInput);
    els.requests.addEventListener("change", onListInput);
    els.requests.addEventListener("submit", onListSubmit);
    els.refresh.addEventListener("click", function () { refresh(); });
    S.bindHeader({
      onLanguage: applyTexts,
      beforeSignOut: function () { clearTimeout(state.pollTimer); }
    });
    document.addEventListener("visibilitychange", function () { if (!document.hidden && state.me) schedulePoll(0); });
    window.addEventListener("online", function () { if (state.me) schedulePoll(0); });
    loadMe();
    loadCategories();
  }

  // A small, read-only window for tests and debugging.
  window.ShewuRequest = {
    get state() { return state; },
    refresh: refresh,
    POLL_MS: POLL_MS
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
