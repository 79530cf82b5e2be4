/* Shewu technician's page (物业师傅): my active orders on a phone, one thumb.
 *
 * Data, as the signed-in user (session cookie), only from the gateway's API (docs/api.md):
 *   - WebSocket `api/live`: the server sends a technician only the orders assigned to them
 *     (plus, once, the change that takes one away: it arrives with another assignee or none);
 *   - `POST api/orders/{id}/{accept|reject|depart|arrive|resolve}` for the big buttons, and for
 *     residents' requests `third_party` (the party's name as the reason) and `resume`;
 *   - `GET api/orders/{id}` for the timeline's latest note;
 *   - `GET api/me` and `PUT api/me/status` for my availability.
 * A new assignment sounds (sound.js), vibrates where the phone can, and is highlighted.
 * Every piece of data goes into the page through textContent, never as HTML. */
(function () {
  "use strict";

  var I18N = window.ShewuI18n;
  var SOUND = window.ShewuSound;
  var S = window.Shewu;
  var t = I18N.t;
  var el = S.el;
  var setText = S.setText;
  var parseTime = S.parseTime;
  var fmtDuration = S.fmtDuration;

  var TERMINAL = S.TERMINAL;
  var PRIORITY_RANK = S.PRIORITY_RANK;
  var KNOWN_KINDS = S.KNOWN_KINDS;
  var CATEGORY_CLASSES = S.CATEGORY_CLASSES; // colour by category for other kinds
  var LIVE_ROLES = { technician: true, dispatcher: true, admin: true, grid_worker: true };
  var STATUSES = ["available", "busy", "off_duty"];
  var FLASH_MS = 10000;
  var REMIND_MS = 60000; // ring again while an assignment waits to be accepted
  var VIBRATE = [300, 150, 300, 150, 300];
  var AT_RISK_FRACTION = S.AT_RISK_FRACTION;

  // The buttons at the bottom of a card, by status: [action, style].
  var BUTTONS = {
    dispatched: [["accept", "primary"], ["reject", "secondary"]],
    accepted: [["depart", "secondary"], ["arrive", "primary"]],
    en_route: [["arrive", "primary"]],
    on_site: [["resolve", "primary"]]
  };
  // Residents' requests may wait for a third party (power, gas, ...) from these statuses.
  var THIRD_PARTY_FROM = { accepted: true, en_route: true, on_site: true };
  var THIRD_PARTY_PRESETS = ["power", "gas", "water", "telecom", "other"];
  var REJECT_PRESETS = { notNearby: "reject.notNearby", noTools: "reject.noTools", otherJob: "reject.otherJob",
                         other: "reject.other" };

  var state = {
    me: null,             // {name, display_name, role}
    myStatus: null,       // available | busy | off_duty
    statusPending: false,
    orders: new Map(),    // id -> {order, el, flashUntil, note, noteFor}
    pending: new Set(),   // ids with an action in flight
    errors: new Map(),    // id -> the last action error on that card
    offsetMs: 0,
    conn: "connecting",
    live: null,
    hadSnapshot: false,
    lastRingAt: 0,
    sheet: null           // {id, action, order} while the reject or done sheet is open
  };

  var $ = function (id) { return document.getElementById(id); };
  var els = {};

  // ---- helpers -------------------------------------------------------------------------------

  function serverNow() { return Date.now() + state.offsetMs; }

  function noteServerTime(s) {
    var ms = parseTime(s);
    if (ms !== null) state.offsetMs = ms - Date.now();
  }

  function kindLabel(o) { return I18N.tOr("kind." + o.kind, String(o.kind || t("kind.unknown"))); }
  function statusLabel(s) { return I18N.tOr("status." + s, String(s)); }
  function priorityLabel(p) { return I18N.tOr("priority." + p, String(p)); }
  var roleLabel = S.roleLabel;
  function actionLabel(a) { return t("tech.action." + a); }
  function orderLabel(o) {
    return t("order.label", { id: o.id, kind: kindLabel(o), resident: o.resident ? String(o.resident) : t("field.unknownResident") });
  }

  /** Is this order mine to show? (The server already filters a technician's feed.) */
  function mine(o) {
    return !!(o && state.me && o.assignee === state.me.name && !TERMINAL[o.status]);
  }

  function compareOrders(a, b) {
    var wa = a.status === "dispatched" ? 0 : 1, wb = b.status === "dispatched" ? 0 : 1;
    if (wa !== wb) return wa - wb; // waiting for my answer first
    var pa = PRIORITY_RANK[a.priority], pb = PRIORITY_RANK[b.priority];
    pa = pa === undefined ? 9 : pa;
    pb = pb === undefined ? 9 : pb;
    if (pa !== pb) return pa - pb;
    var da = parseTime(a.onsite_due_at), db = parseTime(b.onsite_due_at);
    da = da === null ? Infinity : da;
    db = db === null ? Infinity : db;
    if (da !== db) return da < db ? -1 : 1;
    return (a.id || 0) - (b.id || 0);
  }

  // ---- cards ---------------------------------------------------------------------------------

  function buildCard(entry) {
    var o = entry.order;
    var li = el("li", "tcard prio-" + (PRIORITY_RANK[o.priority] === undefined ? "x" : o.priority));
    li.dataset.orderId = String(o.id);
    li.dataset.status = String(o.status);
    if (o.status === "dispatched") li.classList.add("is-new");
    if (entry.flashUntil > Date.now()) li.classList.add("flash");
    if (state.pending.has(o.id)) li.classList.add("busy");

    var head = el("div", "tcard-head");
    var kindClass = KNOWN_KINDS[o.kind] ? o.kind : CATEGORY_CLASSES[o.category] ? o.category : "unknown";
    var kind = el("span", "kind kind-" + kindClass);
    kind.appendChild(S.iconFor ? S.iconFor(o.kind) : S.icon(o.kind));
    kind.appendChild(el("span", "kind-label", kindLabel(o)));
    head.appendChild(kind);
    head.appendChild(el("span", "badge prio", priorityLabel(o.priority)));
    var status = el("span", "badge status status-" + String(o.status).replace(/[^a-z_]/g, ""), statusLabel(o.status));
    status.dataset.role = "status";
    head.appendChild(status);
    if (o.status === "dispatched") {
      var fresh = el("span", "badge new-tag", t("tech.new"));
      fresh.dataset.role = "new";
      head.appendChild(fresh);
    }
    head.appendChild(el("span", "order-id", "#" + o.id));
    li.appendChild(head);

    var address = el("div", "tcard-address", o.address ? o.address : t("field.none"));
    address.dataset.role = "address";
    li.appendChild(address);

    var facts = el("dl", "tcard-facts");
    function fact(labelKey, value, role) {
      var wrap = el("div", "fact");
      wrap.appendChild(el("dt", null, t(labelKey)));
      var dd = el("dd", null, value);
      dd.dataset.role = role;
      wrap.appendChild(dd);
      facts.appendChild(wrap);
      return dd;
    }
    fact("tech.resident", o.resident ? o.resident : t("field.unknownResident"), "resident");
    fact("tech.opened", S.fmtWhen(parseTime(o.opened_at), serverNow()), "opened");
    if (o.grid) fact("field.grid", o.grid, "grid");
    li.appendChild(facts);

    var clock = el("div", "tcard-clock");
    entry.clockLabel = el("span", "clock-label");
    entry.countdown = el("span", "countdown mono");
    entry.countdown.dataset.role = "countdown";
    entry.riskTag = el("span", "risk-tag");
    clock.appendChild(entry.clockLabel);
    clock.appendChild(entry.countdown);
    clock.appendChild(entry.riskTag);
    li.appendChild(clock);

    entry.partyEl = null;
    if (o.status === "third_party") {
      entry.partyEl = el("div", "tcard-party");
      entry.partyEl.dataset.role = "party";
      li.appendChild(entry.partyEl);
    }

    var note = el("div", "tcard-note");
    note.appendChild(el("span", "note-key", t("tech.lastNote")));
    entry.noteEl = el("span", "note-text");
    entry.noteEl.dataset.role = "note";
    note.appendChild(entry.noteEl);
    li.appendChild(note);
    renderNote(entry);

    var err = el("p", "tcard-error");
    err.dataset.role = "error";
    err.setAttribute("role", "alert");
    err.textContent = state.errors.get(o.id) || "";
    err.hidden = !err.textContent;
    li.appendChild(err);

    var buttons = buttonsFor(o);
    if (buttons.length) {
      var main = buttons.filter(function (b) { return b[1] !== "tertiary"; }).length;
      var actions = el("div", "tcard-actions n" + main);
      buttons.forEach(function (b) {
        var btn = el("button", "big act-" + b[0] + " " + b[1], actionLabel(b[0]));
        btn.type = "button";
        btn.dataset.action = b[0];
        btn.dataset.orderId = String(o.id);
        btn.disabled = state.pending.has(o.id);
        actions.appendChild(btn);
      });
      li.appendChild(actions);
    }
    entry.el = li;
    tickCard(entry, serverNow());
    return li;
  }

  /** The big buttons of a card: [action, style]; "tertiary" ones take a row of their own. */
  function buttonsFor(o) {
    if (o.category === "request" && o.status === "third_party") {
      return [["resume", "secondary"], ["resolve", "primary"]];
    }
    var list = (BUTTONS[o.status] || []).slice();
    if (o.category === "request" && THIRD_PARTY_FROM[o.status]) list.push(["third_party", "tertiary"]);
    return list;
  }

  function renderNote(entry) {
    if (entry.partyEl) {
      setText(entry.partyEl, t("tech.waiting", { party: entry.party ? String(entry.party) : t("status.third_party") }));
    }
    if (!entry.noteEl) return;
    var n = entry.note;
    if (n && n.note) {
      var at = parseTime(n.at);
      var who = n.actor ? String(n.actor) + "：" : "";
      setText(entry.noteEl, (at !== null ? S.fmtHm(at) + " " : "") + who + String(n.note));
      entry.noteEl.classList.remove("muted");
    } else {
      setText(entry.noteEl, t("tech.noNote"));
      entry.noteEl.classList.add("muted");
    }
  }

  function tickCard(entry, now) {
    var o = entry.order;
    var li = entry.el;
    var due = parseTime(o.onsite_due_at);
    var arrived = parseTime(o.arrived_at);
    var opened = parseTime(o.opened_at);
    var onSite = arrived !== null || o.status === "on_site";
    var level = "ok";
    if (onSite) {
      setText(entry.clockLabel, statusLabel("on_site"));
      setText(entry.countdown, arrived !== null ? S.fmtClock(arrived) : "✓");
      setText(entry.riskTag, "");
    } else if (due === null) {
      setText(entry.clockLabel, t("clock.noTarget"));
      setText(entry.countdown, t("field.none"));
      setText(entry.riskTag, "");
    } else {
      var left = (due - now) / 1000;
      var mark = parseTime(o.at_risk_at);
      if (mark === null && opened !== null && due > opened) mark = due - (due - opened) * AT_RISK_FRACTION;
      var atRisk = !!(o.clock && o.clock.at_risk) || (mark !== null && now >= mark);
      if (left > 0) {
        setText(entry.clockLabel, t("clock.onsite"));
        setText(entry.countdown, fmtDuration(Math.ceil(left)));
        setText(entry.riskTag, atRisk ? t("clock.atRisk") : "");
        level = atRisk ? "risk" : "ok";
      } else {
        setText(entry.clockLabel, t("clock.lateLabel"));
        setText(entry.countdown, t("clock.late", { time: fmtDuration(Math.floor(-left)) }));
        setText(entry.riskTag, "");
        level = "breached";
      }
    }
    li.classList.toggle("level-risk", level === "risk");
    li.classList.toggle("level-breached", level === "breached");
    li.classList.toggle("on-site", onSite);
    if (li.classList.contains("flash") && entry.flashUntil <= Date.now()) li.classList.remove("flash");
  }

  function render() {
    var list = Array.from(state.orders.values());
    list.sort(function (a, b) { return compareOrders(a.order, b.order); });
    var container = els.orders;
    var child = container.firstElementChild;
    for (var i = 0; i < list.length; i++) {
      var node = list[i].el;
      if (child === node) child = child.nextElementSibling;
      else container.insertBefore(node, child);
    }
    updateEmpty();
    updateTitle();
  }

  function renderAll() {
    els.orders.textContent = "";
    state.orders.forEach(function (entry) { buildCard(entry); });
    render();
  }

  function updateEmpty() {
    var has = state.orders.size > 0;
    els.empty.hidden = has || state.conn === "forbidden";
    if (has) return;
    if (state.hadSnapshot) {
      setText(els.emptyTitle, t("tech.empty"));
      setText(els.emptySub, t("tech.emptySub"));
    } else {
      setText(els.emptyTitle, state.conn === "lost" ? t("conn.lost") : t("loading"));
      setText(els.emptySub, "");
    }
  }

  function awaiting() {
    var n = 0;
    state.orders.forEach(function (e) { if (e.order.status === "dispatched") n += 1; });
    return n;
  }

  function updateTitle() {
    var n = awaiting();
    document.title = (n > 0 ? "(" + n + ") " : "") + t("tech.title");
  }

  // ---- applying orders -----------------------------------------------------------------------

  function upsert(order, alert) {
    var entry = state.orders.get(order.id);
    var isNew = !entry;
    if (isNew) {
      entry = { order: order, el: null, flashUntil: 0, note: null, noteFor: null };
      state.orders.set(order.id, entry);
    }
    var changed = isNew || entry.order.status !== order.status || entry.order.assignee !== order.assignee;
    entry.order = order;
    if (alert) entry.flashUntil = Date.now() + FLASH_MS;
    var old = entry.el;
    var card = buildCard(entry);
    if (old && old.parentNode) old.parentNode.replaceChild(card, old);
    else els.orders.appendChild(card);
    if (changed) loadNote(entry);
    return entry;
  }

  function remove(id, why) {
    var entry = state.orders.get(id);
    if (!entry) return;
    state.orders.delete(id);
    state.errors.delete(id);
    if (why === "gone") showMessage("info", t("tech.gone", { id: id }));
    var node = entry.el;
    if (node && node.parentNode) {
      node.classList.add("leaving");
      setTimeout(function () { if (node.parentNode) node.parentNode.removeChild(node); }, 400);
    }
  }

  /** A newly assigned order: ring, vibrate, highlight. */
  function announce() {
    state.lastRingAt = Date.now();
    SOUND.beep(3);
    try {
      if (navigator.vibrate) navigator.vibrate(VIBRATE);
    } catch (e) { /* not allowed before the first touch: the sound and the highlight remain */ }
  }

  function applyOrder(order, opts) {
    if (!order || order.id === undefined || order.id === null) return;
    if (order.clock && order.clock.now) noteServerTime(order.clock.now);
    var entry = state.orders.get(order.id);
    if (!mine(order)) {
      // Leaving because of my own action (done, rejected) needs no word; otherwise say why.
      var own = (opts && opts.byMe) || state.pending.has(order.id) ||
        (order.status === "resolved" && state.me && order.assignee === state.me.name);
      if (entry) remove(order.id, own ? "done" : "gone");
      render();
      return;
    }
    // New to me: not in the list, or sent to me again.
    var assigned = order.status === "dispatched" && (!entry || entry.order.status !== "dispatched");
    var alert = assigned && state.hadSnapshot && !(opts && opts.byMe);
    upsert(order, alert);
    if (alert) announce();
    render();
  }

  function applySnapshot(msg) {
    var orders = Array.isArray(msg.orders) ? msg.orders : [];
    var incoming = new Set();
    var ring = false;
    for (var i = 0; i < orders.length; i++) {
      var o = orders[i];
      if (!mine(o)) continue;
      incoming.add(o.id);
      // After a reconnect, assignments we had not seen are new.
      var alert = state.hadSnapshot && !state.orders.has(o.id) && o.status === "dispatched";
      upsert(o, alert);
      if (alert) ring = true;
    }
    Array.from(state.orders.keys()).forEach(function (id) { if (!incoming.has(id)) remove(id, "gone"); });
    state.hadSnapshot = true;
    render();
    if (ring) announce();
  }

  /** The timeline's latest note (what the dispatcher wrote, the last rejection, ...). */
  function loadNote(entry) {
    var id = entry.order.id;
    var stamp = entry.order.status + "|" + entry.order.dispatched_at + "|" + entry.order.event_count;
    if (entry.noteFor === stamp) return;
    entry.noteFor = stamp;
    S.api("/api/orders/" + encodeURIComponent(id)).then(function (r) {
      var now = state.orders.get(id);
      if (!now || !r.ok || !r.data || !Array.isArray(r.data.timeline)) return;
      var last = null;
      var party = null;
      r.data.timeline.forEach(function (e) {
        if (e && typeof e.note === "string" && e.note.trim()) last = e;
        if (e && e.action === "third_party") party = (e.data && e.data.party) || party;
      });
      now.note = last;
      now.party = party;
      renderNote(now);
    });
  }

  function handleMessage(msg) {
    if (msg.now) noteServerTime(msg.now);
    if (msg.type === "snapshot") {
      if (msg.me) setMe(msg.me);
      applySnapshot(msg);
    } else if (msg.type === "order") {
      applyOrder(msg.order);
    }
  }

  // ---- actions -------------------------------------------------------------------------------

  function onCardClick(ev) {
    var btn = ev.target.closest("button[data-action]");
    if (!btn || btn.disabled) return;
    var id = Number(btn.dataset.orderId);
    var entry = state.orders.get(id);
    if (!entry) return;
    var action = btn.dataset.action;
    if (action === "reject") openSheet("reject", entry.order);
    else if (action === "resolve") openSheet("resolve", entry.order);
    else if (action === "third_party") openSheet("third_party", entry.order);
    else send(entry.order, action, {});
  }

  function setBusy(id, busy) {
    var entry = state.orders.get(id);
    if (!entry || !entry.el) return;
    entry.el.classList.toggle("busy", busy);
    var buttons = entry.el.querySelectorAll("button[data-action]");
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = busy;
  }

  function setCardError(id, text) {
    if (text) state.errors.set(id, text);
    else state.errors.delete(id);
    var entry = state.orders.get(id);
    if (!entry || !entry.el) return;
    var p = entry.el.querySelector("[data-role=error]");
    if (p) { setText(p, text || ""); p.hidden = !text; }
  }

  function send(order, action, body) {
    var id = order.id;
    if (state.pending.has(id)) return Promise.resolve(false);
    state.pending.add(id);
    setBusy(id, true);
    setCardError(id, "");
    var label = actionLabel(action);
    var path = "/api/orders/" + encodeURIComponent(id) + "/" + encodeURIComponent(action);
    return S.api(path, { method: "POST", body: body }).then(function (r) {
      state.pending.delete(id);
      if (!r.ok) {
        setBusy(id, false);
        if (r.status !== 401) {
          var text = r.status === 0 ? r.detail : t("tech.failed", { action: label, detail: r.detail });
          setCardError(id, text);
          showMessage("error", text);
        }
        return false;
      }
      showMessage("ok", t("tech.sent", { action: label, id: id }));
      if (r.data && typeof r.data === "object" && r.data.id === id) applyOrder(r.data, { byMe: true });
      else setBusy(id, false);
      return true;
    });
  }

  // ---- reject and done sheets ----------------------------------------------------------------

  function openSheet(kind, order) {
    state.sheet = { kind: kind, id: order.id, order: order };
    if (kind === "reject") {
      els.rejectForm.reset();
      setText(els.rejectError, "");
      setText(els.rejectTitle, t("reject.title", { order: orderLabel(order) }));
      showDialog(els.rejectDialog);
    } else if (kind === "third_party") {
      els.thirdForm.reset();
      setText(els.thirdError, "");
      setText(els.thirdTitle, t("third.title", { order: orderLabel(order) }));
      showDialog(els.thirdDialog);
    } else {
      els.doneNote.value = "";
      setText(els.doneError, "");
      setText(els.doneTitle, t("done.title", { order: orderLabel(order) }));
      showDialog(els.doneDialog);
      els.doneNote.focus();
    }
  }

  function showDialog(d) {
    if (typeof d.showModal === "function") d.showModal();
    else d.setAttribute("open", "");
  }

  function closeSheets() {
    state.sheet = null;
    [els.rejectDialog, els.doneDialog, els.thirdDialog].forEach(function (d) {
      if (d.open) {
        if (typeof d.close === "function") d.close();
        else d.removeAttribute("open");
      }
    });
  }

  function submitReject(ev) {
    ev.preventDefault();
    var sh = state.sheet;
    if (!sh || sh.kind !== "reject") { closeSheets(); return; }
    var picked = els.rejectForm.querySelector("input[name=reason]:checked");
    var detail = els.rejectDetail.value.trim();
    if (!picked) { setText(els.rejectError, t("reject.required")); return; }
    if (picked.value === "other" && !detail) {
      setText(els.rejectError, t("reject.detailRequired"));
      els.rejectDetail.focus();
      return;
    }
    var reason = picked.value === "other" ? detail : t(REJECT_PRESETS[picked.value]) + (detail ? "：" + detail : "");
    var entry = state.orders.get(sh.id);
    closeSheets();
    send(entry ? entry.order : sh.order, "reject", { reason: reason });
  }

  function submitDone(ev) {
    ev.preventDefault();
    var sh = state.sheet;
    if (!sh || sh.kind !== "resolve") { closeSheets(); return; }
    var note = els.doneNote.value.trim();
    if (!note) { setText(els.doneError, t("done.required")); els.doneNote.focus(); return; }
    var entry = state.orders.get(sh.id);
    closeSheets();
    send(entry ? entry.order : sh.order, "resolve", { note: note });
  }

  /** "Needs a third party": who (a preset, or a name), and what was said. */
  function submitThird(ev) {
    ev.preventDefault();
    var sh = state.sheet;
    if (!sh || sh.kind !== "third_party") { closeSheets(); return; }
    var picked = els.thirdForm.querySelector("input[name=party]:checked");
    var name = els.thirdName.value.trim();
    var note = els.thirdNote.value.trim();
    if (!picked && !name) { setText(els.thirdError, t("third.required")); return; }
    if (picked && picked.value === "other" && !name) {
      setText(els.thirdError, t("third.nameRequired"));
      els.thirdName.focus();
      return;
    }
    var party = !picked || picked.value === "other" ? name : t("third." + picked.value) + (name ? " " + name : "");
    var body = { reason: party.slice(0, 500) };
    if (note) body.note = note;
    var entry = state.orders.get(sh.id);
    closeSheets();
    send(entry ? entry.order : sh.order, "third_party", body);
  }

  /** The third-party sheet, built here (tech.html holds the other two). */
  function buildThirdSheet() {
    var dialog = el("dialog", "sheet");
    dialog.id = "third-dialog";
    var form = el("form");
    form.id = "third-form";
    form.method = "dialog";
    form.noValidate = true;
    var title = el("h2");
    title.id = "third-title";
    form.appendChild(title);
    var presets = el("fieldset", "presets");
    var legend = el("legend");
    legend.setAttribute("data-i18n", "third.choose");
    presets.appendChild(legend);
    THIRD_PARTY_PRESETS.forEach(function (key) {
      var label = el("label", "preset");
      var input = el("input");
      input.type = "radio";
      input.name = "party";
      input.value = key;
      label.appendChild(input);
      var span = el("span");
      span.setAttribute("data-i18n", "third." + key);
      label.appendChild(span);
      presets.appendChild(label);
    });
    form.appendChild(presets);
    function field(labelKey, control) {
      var label = el("label", "field");
      var span = el("span");
      span.setAttribute("data-i18n", labelKey);
      label.appendChild(span);
      label.appendChild(control);
      form.appendChild(label);
    }
    var name = el("input", "text-input");
    name.id = "third-name";
    name.type = "text";
    name.maxLength = 120;
    name.autocomplete = "off";
    name.setAttribute("data-i18n-placeholder", "third.namePlaceholder");
    field("third.name", name);
    var note = el("textarea");
    note.id = "third-note";
    note.rows = 2;
    note.maxLength = 2000;
    field("third.note", note);
    var error = el("p", "sheet-error");
    error.id = "third-error";
    error.setAttribute("role", "alert");
    form.appendChild(error);
    var buttons = el("div", "sheet-buttons");
    var back = el("button", "big quiet");
    back.type = "button";
    back.id = "third-back";
    back.setAttribute("data-i18n", "dialog.close");
    var submit = el("button", "big act-third_party");
    submit.type = "submit";
    submit.id = "third-submit";
    submit.setAttribute("data-i18n", "third.submit");
    buttons.appendChild(back);
    buttons.appendChild(submit);
    form.appendChild(buttons);
    dialog.appendChild(form);
    document.body.appendChild(dialog);
    els.thirdDialog = dialog;
    els.thirdForm = form;
    els.thirdTitle = title;
    els.thirdName = name;
    els.thirdNote = note;
    els.thirdError = error;
    form.addEventListener("submit", submitThird);
    form.addEventListener("change", function () { setText(error, ""); });
    back.addEventListener("click", closeSheets);
    dialog.addEventListener("close", function () {
      if (!els.rejectDialog.open && !els.doneDialog.open) state.sheet = null;
    });
  }

  // ---- me and my status ----------------------------------------------------------------------

  function setMe(me) {
    if (!me || !me.name) return;
    var display = me.display_name || (state.me && state.me.name === me.name ? state.me.display_name : "");
    state.me = { name: String(me.name), display_name: display || "", role: String(me.role || "") };
    if (me.status) state.myStatus = me.status;
    renderMe();
  }

  function renderMe() {
    var me = state.me;
    setText(els.user, me ? (me.display_name || me.name) : "");
    if (me) els.user.title = me.name + " · " + roleLabel(me.role);
    var notTech = me && me.role !== "technician" && state.conn !== "forbidden";
    if (state.conn === "forbidden") {
      els.notice.hidden = false;
      setText(els.noticeText, t("tech.forbidden", { role: me ? roleLabel(me.role) : "" }));
      els.noticeLink.hidden = true;
    } else {
      els.notice.hidden = !notTech;
      if (notTech) setText(els.noticeText, t("tech.notTech"));
      els.noticeLink.hidden = !(notTech && S.OFFICE_ROLES[me.role]);
    }
    var buttons = els.myStatus.querySelectorAll("button[data-status]");
    for (var i = 0; i < buttons.length; i++) {
      var on = buttons[i].dataset.status === state.myStatus;
      buttons[i].setAttribute("aria-pressed", on ? "true" : "false");
      buttons[i].classList.toggle("on", on);
      buttons[i].disabled = state.statusPending;
    }
    els.myStatus.hidden = !me || me.role === "resident";
  }

  function loadMe() {
    return S.api("/api/me").then(function (r) {
      if (r.ok && r.data && r.data.name) setMe(r.data);
    });
  }

  function setMyStatus(status) {
    if (state.statusPending || STATUSES.indexOf(status) < 0 || status === state.myStatus) return;
    var before = state.myStatus;
    state.myStatus = status; // show the choice at once; put it back if the server refuses
    state.statusPending = true;
    renderMe();
    S.api("/api/me/status", { method: "PUT", body: { status: status } }).then(function (r) {
      state.statusPending = false;
      if (r.ok && r.data && r.data.status) {
        state.myStatus = r.data.status;
        showMessage("ok", t("tech.statusSaved", { status: I18N.tOr("techStatus." + r.data.status, r.data.status) }));
      } else {
        state.myStatus = before;
        if (r.status !== 401) showMessage("error", t("tech.statusFailed", { detail: r.detail }));
      }
      renderMe();
    });
  }

  // ---- connection ----------------------------------------------------------------------------

  function onConnState(c) {
    state.conn = c;
    renderConn();
    updateEmpty();
    if (c === "forbidden") renderMe();
  }

  function renderConn() {
    var c = state.conn;
    els.connState.className = "conn conn-" + (c === "forbidden" ? "lost" : c);
    setText(els.connText, t(c === "live" ? "conn.live" : c === "connecting" ? "conn.connecting" : "conn.lost"));
    var show = c === "lost";
    els.banner.hidden = !show;
    els.orders.classList.toggle("stale", show);
    if (show && state.live) {
      var wait = state.live.retryAt ? Math.max(0, Math.ceil((state.live.retryAt - Date.now()) / 1000)) : 0;
      setText(els.bannerText, wait > 0 ? t("tech.reconnect", { seconds: wait }) : t("tech.reconnecting"));
    }
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
    setTimeout(function () { box.remove(); }, kind === "error" ? 20000 : 3500);
  }

  // ---- texts, sound, tick --------------------------------------------------------------------

  function applyTexts() {
    S.applyStaticTexts();
    document.title = t("tech.title");
    S.renderHeader(null); // the user line is renderMe()'s: the name, with the role as a tooltip
    renderSound();
    renderConn();
    renderMe();
    if (state.sheet) {
      var o = state.sheet.order;
      setText(els.rejectTitle, t("reject.title", { order: orderLabel(o) }));
      setText(els.doneTitle, t("done.title", { order: orderLabel(o) }));
      setText(els.thirdTitle, t("third.title", { order: orderLabel(o) }));
    }
  }

  function renderSound() {
    var s = SOUND.state();
    var btn = els.soundToggle;
    btn.classList.toggle("sound-off", s === "off");
    btn.classList.toggle("sound-on", s === "on");
    btn.classList.toggle("sound-blocked", s === "blocked");
    btn.setAttribute("aria-pressed", s === "off" ? "false" : "true");
    btn.title = t(s === "off" ? "sound.titleOff" : "sound.titleOn");
    setText(els.soundText, s === "off" ? t("sound.enable") : s === "on" ? t("sound.on") : t("sound.blocked"));
  }

  function tick() {
    var now = serverNow();
    state.orders.forEach(function (entry) { if (entry.el) tickCard(entry, now); });
    if (state.conn === "lost") renderConn();
    if (awaiting() > 0 && Date.now() - state.lastRingAt >= REMIND_MS) {
      state.lastRingAt = Date.now();
      SOUND.beep(2);
    }
  }

  function init() {
    els = {
      orders: $("orders"), empty: $("empty"), emptyTitle: $("empty-title"), emptySub: $("empty-sub"),
      connState: $("conn-state"), connText: $("conn-text"),
      banner: $("conn-banner"), bannerText: $("conn-banner-text"), retry: $("conn-retry"),
      user: $("user"), soundToggle: $("sound-toggle"), soundText: $("sound-text"),
      myStatus: document.querySelector(".my-status"),
      notice: $("notice"), noticeText: $("notice-text"), noticeLink: $("notice-link"),
      messages: $("messages"),
      rejectDialog: $("reject-dialog"), rejectForm: $("reject-form"), rejectTitle: $("reject-title"),
      rejectDetail: $("reject-detail"), rejectError: $("reject-error"), rejectBack: $("reject-back"),
      doneDialog: $("done-dialog"), doneForm: $("done-form"), doneTitle: $("done-title"),
      doneNote: $("done-note"), doneError: $("done-error"), doneBack: $("done-back")
    };
    buildThirdSheet();
    I18N.load();
    SOUND.load();
    SOUND.onChange(renderSound);

    els.orders.addEventListener("click", onCardClick);
    els.myStatus.addEventListener("click", function (ev) {
      var b = ev.target.closest("button[data-status]");
      if (b) setMyStatus(b.dataset.status);
    });
    els.soundToggle.addEventListener("click", function () {
      SOUND.setEnabled(SOUND.state() !== "on");
      renderSound();
    });
    S.bindHeader({
      onLanguage: function () {
        applyTexts();
        renderAll();
      },
      beforeSignOut: function () { if (state.live) state.live.stop(); }
    });
    els.retry.addEventListener("click", function () { if (state.live) state.live.retryNow(); });
    els.rejectForm.addEventListener("submit", submitReject);
    els.doneForm.addEventListener("submit", submitDone);
    els.rejectBack.addEventListener("click", closeSheets);
    els.doneBack.addEventListener("click", closeSheets);
    els.rejectForm.addEventListener("change", function () { setText(els.rejectError, ""); });
    els.rejectDialog.addEventListener("close", function () {
      if (!els.doneDialog.open && !els.thirdDialog.open) state.sheet = null;
    });
    els.doneDialog.addEventListener("close", function () {
      if (!els.rejectDialog.open && !els.thirdDialog.open) state.sheet = null;
    });
    window.addEventListener("online", function () { if (state.conn === "lost" && state.live) state.live.connect(); });

    applyTexts();
    updateEmpty();
    setInterval(tick, 1000);

    state.live = new S.Live({
      allowedRoles: LIVE_ROLES,
      onState: onConnState,
      onMessage: handleMessage,
      onForbidden: function () { loadMe().then(function () { onConnState("forbidden"); }); }
    });
    state.live.connect();
    loadMe();
  }

  // A small, read-only window for tests and debugging.
  window.ShewuTech = {
    get state() { return state; },
    serverNow: serverNow
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
