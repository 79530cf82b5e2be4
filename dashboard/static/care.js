/* Shewu care plans page (银龄关爱五件套).
 *
 *   - care.html?home=<id>: one resident's plan (GET api/care/plans/{home}): what is due next, the
 *     plan's items, and the history of care visits with what was done or why they were missed.
 *     The assignee (or office staff) records an open visit done (POST api/orders/{id}/arrive, then
 *     /resolve with a note) or missed (POST api/orders/{id}/miss with a reason). Office staff edit
 *     the plan (PUT api/care/plans/{home}) or create it with the defaults.
 *   - care.html: every plan the signed-in user may see (GET api/care/plans?grid=&home_id=).
 * Every text from the server goes in through textContent or attributes, never as HTML.
 * Depends on i18n/ (with i18n/care.js) and common.js. */
(function () {
  "use strict";

  var I18N = window.ShewuI18n;
  var S = window.Shewu;
  var t = I18N.t;
  var el = S.el;
  var OFFICE = S.OFFICE_ROLES;
  var DEFAULT_TZ = S.DEFAULT_TZ;

  var state = {
    me: null,
    home: null, // ?home=
    plan: null, // GET api/care/plans/{home}
    noPlan: false,
    plans: null, // the list view
    editing: false,
    recording: null, // {orderId, mode: "done" | "miss"}
    busy: false
  };
  var els = {};

  function $(id) { return document.getElementById(id); }
  function isOffice() { return !!(state.me && OFFICE[state.me.role]); }
  function zh() { return I18N.lang === "zh"; }
  function tz() { return (state.plan && state.plan.time_zone) || DEFAULT_TZ; }

  // ---- time ----------------------------------------------------------------------------------

  function parts(ms) {
    try {
      var fmt = new Intl.DateTimeFormat("en-GB", { timeZone: tz(), year: "numeric", month: "2-digit", day: "2-digit",
                                                   hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
      var out = {};
      fmt.formatToParts(new Date(ms)).forEach(function (p) { out[p.type] = p.value; });
      return { y: out.year, m: out.month, d: out.day, H: out.hour === "24" ? "00" : out.hour, M: out.minute };
    } catch (e) {
      var dt = new Date(ms);
      return { y: String(dt.getFullYear()), m: S.pad2(dt.getMonth() + 1), d: S.pad2(dt.getDate()),
               H: S.pad2(dt.getHours()), M: S.pad2(dt.getMinutes()) };
    }
  }

  function localDateTime(iso) {
    var ms = S.parseTime(iso);
    if (ms === null) return t("field.none");
    var p = parts(ms);
    return p.y + "-" + p.m + "-" + p.d + " " + p.H + ":" + p.M;
  }

  /** "2026-03-02（周一）" from a local date "YYYY-MM-DD". */
  function dayLabel(day) {
    if (!day || typeof day !== "string") return t("field.none");
    var a = day.split("-");
    var wd = (new Date(Date.UTC(+a[0], +a[1] - 1, +a[2])).getUTCDay() + 6) % 7; // 0 = Monday
    return day + " " + t("weekday." + wd);
  }

  // ---- messages ------------------------------------------------------------------------------

  function message(text, ok) {
    els.message.hidden = !text;
    els.message.className = "care-msg " + (ok ? "care-msg-ok" : "care-msg-error");
    S.setText(els.message, text || "");
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function cell(tr, text, className) {
    var td = el("td", className || "", text);
    tr.appendChild(td);
    return td;
  }

  function kindName(x) { return zh() ? (x.zh || x.kind) : (x.en || x.kind); }

  // ---- the list of plans ---------------------------------------------------------------------

  function loadList() {
    var q = [];
    if (els.fGrid.value.trim()) q.push("grid=" + encodeURIComponent(els.fGrid.value.trim()));
    if (els.fHome.value.trim()) q.push("home_id=" + encodeURIComponent(els.fHome.value.trim()));
    S.api("/api/care/plans" + (q.length ? "?" + q.join("&") : "")).then(function (r) {
      if (r.status === 403) { forbidden(r.detail); return; }
      if (!r.ok) { message(t("care.error", { detail: r.detail })); return; }
      message("");
      state.plans = Array.isArray(r.data) ? r.data : [];
      renderList();
    });
  }

  function nextOf(plan) {
    var best = null;
    (plan.items || []).forEach(function (i) {
      if (i.enabled && i.next && (!best || i.next.due_at < best.next.due_at)) best = i;
    });
    return best;
  }

  function renderList() {
    clear(els.plansBody);
    var plans = state.plans || [];
    els.plansEmpty.hidden = plans.length > 0;
    plans.forEach(function (p) {
      var tr = el("tr");
      var td = el("td");
      var a = el("a", "care-link", p.home_id);
      a.href = "/care.html?home=" + encodeURIComponent(p.home_id);
      td.appendChild(a);
      tr.appendChild(td);
      cell(tr, p.resident || t("field.unknownResident"));
      cell(tr, p.address || t("field.none"));
      cell(tr, p.grid || t("field.none"));
      cell(tr, p.enabled ? t("care.planOn") : t("care.planOff"), p.enabled ? "" : "care-muted");
      var n = p.enabled ? nextOf(p) : null;
      cell(tr, n ? dayLabel(n.next.due_date) + " · " + kindName(n) : t("field.none"));
      els.plansBody.appendChild(tr);
    });
  }

  // ---- one plan ------------------------------------------------------------------------------

  function loadPlan() {
    return S.api("/api/care/plans/" + encodeURIComponent(state.home)).then(function (r) {
      els.planView.setAttribute("aria-busy", "false");
      if (r.status === 403) { forbidden(r.detail); return; }
      if (r.status === 404) {
        state.plan = null;
        state.noPlan = /care plan/.test(r.detail || "");
        if (!state.noPlan) message(t("care.noHome", { home: state.home }));
        renderPlan();
        return;
      }
      if (!r.ok) { message(t("care.error", { detail: r.detail })); return; }
      state.plan = r.data;
      state.noPlan = false;
      renderPlan();
    });
  }

  function renderPlan() {
    var p = state.plan;
    els.noPlan.hidden = !state.noPlan;
    els.createPlan.hidden = !(state.noPlan && isOffice());
    els.planBody.hidden = !p;
    if (!p) {
      S.setText(els.resident, state.home || "");
      S.setText(els.homeLine, "");
      S.setText(els.planState, "");
      return;
    }
    document.title = (p.resident ? p.resident + " · " : "") + t("care.title");
    S.setText(els.resident, p.resident || t("field.unknownResident"));
    var bits = [p.home_id, p.address, p.grid ? t("field.grid") + " " + p.grid : "", p.phone].filter(Boolean);
    S.setText(els.homeLine, bits.join(" · "));
    var st = p.enabled ? t("care.planOn") : t("care.planOff");
    if (p.updated_at) st += " · " + t("care.updated", { when: localDateTime(p.updated_at), who: p.updated_by || "—" });
    S.setText(els.planState, st);
    els.editPlan.hidden = !isOffice() || state.editing;
    renderDue();
    renderItems();
    renderHistory();
    if (state.editing) renderEdit();
    els.editForm.hidden = !state.editing;
  }

  function badge(text, className) { return el("span", "badge " + (className || ""), text); }

  function renderDue() {
    clear(els.dueNext);
    var due = state.plan.due_next || [];
    els.dueEmpty.hidden = due.length > 0;
    due.forEach(function (d) {
      var li = el("li", "care-due-item" + (d.overdue ? " care-overdue" : ""));
      li.appendChild(el("span", "care-due-date mono", dayLabel(d.due_date)));
      li.appendChild(el("span", "care-due-kind", kindName(d)));
      if (d.order_id) {
        li.appendChild(badge(t("care.orderNo", { id: d.order_id }), "status status-" + d.status));
        li.appendChild(el("span", "care-muted", I18N.tOr("status." + d.status, d.status)));
      } else {
        li.appendChild(el("span", "care-muted", t("care.scheduled", { when: localDateTime(d.generate_at) })));
      }
      if (d.overdue) li.appendChild(badge(t("care.overdue"), "care-badge-bad"));
      if (d.assignee) li.appendChild(el("span", "care-who", d.assignee));
      els.dueNext.appendChild(li);
    });
  }

  function renderItems() {
    clear(els.itemsBody);
    state.plan.items.forEach(function (i) {
      var tr = el("tr", i.enabled ? "" : "care-off");
      cell(tr, kindName(i), "care-strong");
      cell(tr, i.enabled ? (zh() ? i.rule_zh : i.rule_en) : t("care.disabled"));
      cell(tr, t("care.leadDays", { n: i.lead_days }));
      cell(tr, i.assignee || t("care.gridWorker"), i.assignee ? "" : "care-muted");
      cell(tr, i.next ? dayLabel(i.next.due_date) : t("field.none"), "mono");
      cell(tr, i.last_due ? dayLabel(i.last_due) : t("field.none"), "mono care-muted");
      els.itemsBody.appendChild(tr);
    });
  }

  function mayRecord(v) {
    return v.outcome === "open" && !!state.me && (isOffice() || v.assignee === state.me.name);
  }

  function renderHistory() {
    clear(els.historyBody);
    var rows = state.plan.history || [];
    els.historyEmpty.hidden = rows.length > 0;
    rows.forEach(function (v) {
      var tr = el("tr", "care-h-" + v.outcome);
      cell(tr, dayLabel(v.due_date), "mono");
      cell(tr, kindName(v));
      var out = cell(tr, "");
      out.appendChild(badge(t("care.outcome." + v.outcome), "care-outcome care-outcome-" + v.outcome));
      if (v.overdue) out.appendChild(badge(t("care.overdue"), "care-badge-bad"));
      if (v.escalated) out.appendChild(badge(t("care.escalated"), "care-badge-warn"));
      cell(tr, v.assignee || t("field.unassigned"));
      var rec = cell(tr, "", "care-record");
      var text = v.outcome === "done" ? v.note : v.reason;
      if (text) rec.appendChild(el("div", "care-note", text));
      var when = v.outcome === "done" ? v.resolved_at : null;
      var meta = [];
      if (v.recorded_by) meta.push(t("care.recordedBy", { who: v.recorded_by }));
      if (when) meta.push(localDateTime(when));
      meta.push(t("care.orderNo", { id: v.order_id }));
      rec.appendChild(el("div", "care-muted care-small", meta.join(" · ")));
      var act = cell(tr, "", "care-actions");
      if (mayRecord(v)) renderRecord(act, v);
      els.historyBody.appendChild(tr);
    });
  }

  function renderRecord(td, v) {
    var rec = state.recording;
    if (!rec || rec.orderId !== v.order_id) {
      var done = el("button", "toggle care-btn-ok", t("care.markDone"));
      done.type = "button";
      done.addEventListener("click", function () { state.recording = { orderId: v.order_id, mode: "done" }; renderHistory(); });
      var miss = el("button", "toggle care-btn-bad", t("care.markMissed"));
      miss.type = "button";
      miss.addEventListener("click", function () { state.recording = { orderId: v.order_id, mode: "miss" }; renderHistory(); });
      td.appendChild(done);
      td.appendChild(miss);
      return;
    }
    var form = el("form", "care-record-form");
    form.noValidate = true;
    var label = el("label", "care-field");
    label.appendChild(el("span", "", t(rec.mode === "done" ? "care.doneNote" : "care.missReason")));
    var input = el("textarea", "care-text");
    input.rows = 2;
    input.maxLength = rec.mode === "done" ? 2000 : 500;
    label.appendChild(input);
    form.appendChild(label);
    var submit = el("button", "btn-primary", t("care.confirm"));
    submit.type = "submit";
    var cancel = el("button", "toggle", t("care.cancel"));
    cancel.type = "button";
    cancel.addEventListener("click", function () { state.recording = null; renderHistory(); });
    form.appendChild(submit);
    form.appendChild(cancel);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var text = input.value.trim();
      if (!text) { message(t("care.required")); input.focus(); return; }
      submit.disabled = true;
      record(v, rec.mode, text).then(function () { submit.disabled = false; });
    });
    td.appendChild(form);
    setTimeout(function () { input.focus(); }, 0);
  }

  function post(orderId, action, body) {
    return S.api("/api/orders/" + encodeURIComponent(orderId) + "/" + action, { method: "POST", body: body || {} });
  }

  /** Done: arrive first unless already on site, then resolve with the note. Missed: with the reason. */
  function record(v, mode, text) {
    var first;
    if (mode === "miss") {
      first = post(v.order_id, "miss", { reason: text });
    } else if (v.status === "on_site") {
      first = post(v.order_id, "resolve", { note: text });
    } else {
      first = post(v.order_id, "arrive", {}).then(function (r) {
        return r.ok ? post(v.order_id, "resolve", { note: text }) : r;
      });
    }
    return first.then(function (r) {
      if (!r.ok) { message(t("care.error", { detail: r.detail })); return loadPlan(); }
      message(t("care.saved"), true);
      state.recording = null;
      return loadPlan();
    });
  }

  // ---- editing (office) ----------------------------------------------------------------------

  function select(options, value) {
    var s = el("select");
    options.forEach(function (o) {
      var opt = el("option", "", o[1]);
      opt.value = String(o[0]);
      if (String(o[0]) === String(value)) opt.selected = true;
      s.appendChild(opt);
    });
    return s;
  }

  function field(labelKey, control) {
    var l = el("label", "care-field");
    l.appendChild(el("span", "", t(labelKey)));
    l.appendChild(control);
    return l;
  }

  function numberInput(value, min, max) {
    var i = el("input");
    i.type = "number";
    i.min = String(min);
    i.max = String(max);
    i.value = String(value);
    return i;
  }

  function renderEdit() {
    var p = state.plan;
    els.eResident.value = p.resident || "";
    els.eEnabled.checked = !!p.enabled;
    clear(els.editItems);
    p.items.forEach(function (i) {
      var box = el("fieldset", "care-edit-item");
      box.setAttribute("data-kind", i.kind);
      box.appendChild(el("legend", "care-strong", kindName(i)));
      var on = el("input");
      on.type = "checkbox";
      on.checked = !!i.enabled;
      on.setAttribute("data-f", "enabled");
      var onLabel = el("label", "care-check");
      onLabel.appendChild(on);
      onLabel.appendChild(el("span", "", " " + t("care.enabled")));
      box.appendChild(onLabel);
      var every = select(["week", "month", "quarter", "year"].map(function (e) { return [e, t("care.every." + e)]; }),
                         i.every);
      every.setAttribute("data-f", "every");
      box.appendChild(field("care.every", every));
      var weekday = select([0, 1, 2, 3, 4, 5, 6].map(function (d) { return [d, t("weekday." + d)]; }), i.weekday);
      weekday.setAttribute("data-f", "weekday");
      var wdField = field("care.weekday", weekday);
      box.appendChild(wdField);
      var month = numberInput(i.month, 1, 12);
      month.setAttribute("data-f", "month");
      var monthField = field(i.every === "quarter" ? "care.monthOfQuarter" : "care.month", month);
      box.appendChild(monthField);
      var day = numberInput(i.day, 1, 31);
      day.setAttribute("data-f", "day");
      var dayField = field("care.day", day);
      box.appendChild(dayField);
      var time = el("input");
      time.type = "time";
      time.value = i.due_time || "";
      time.setAttribute("data-f", "due_time");
      box.appendChild(field("care.dueTime", time));
      var lead = numberInput(i.lead_days, 0, 90);
      lead.setAttribute("data-f", "lead_days");
      box.appendChild(field("care.leadField", lead));
      var who = el("input");
      who.type = "text";
      who.maxLength = 64;
      who.value = i.assignee || "";
      who.placeholder = t("care.gridWorker");
      who.setAttribute("data-f", "assignee");
      box.appendChild(field("field.assignee", who));
      function showFields() {
        var e = every.value;
        wdField.hidden = e !== "week";
        monthField.hidden = e === "week" || e === "month";
        dayField.hidden = e === "week";
        S.setText(monthField.firstChild, t(e === "quarter" ? "care.monthOfQuarter" : "care.month"));
        month.max = e === "quarter" ? "3" : "12";
      }
      every.addEventListener("change", showFields);
      showFields();
      els.editItems.appendChild(box);
    });
  }

  function readEdit() {
    var items = [];
    var boxes = els.editItems.querySelectorAll("fieldset[data-kind]");
    for (var b = 0; b < boxes.length; b++) {
      var box = boxes[b];
      var get = function (f) { return box.querySelector("[data-f='" + f + "']"); };
      var every = get("every").value;
      var item = {
        kind: box.getAttribute("data-kind"),
        enabled: get("enabled").checked,
        every: every,
        due_time: get("due_time").value || "",
        lead_days: parseInt(get("lead_days").value, 10),
        assignee: get("assignee").value.trim() || null
      };
      if (every === "week") item.weekday = parseInt(get("weekday").value, 10);
      else item.day = parseInt(get("day").value, 10);
      if (every === "quarter" || every === "year") item.month = parseInt(get("month").value, 10);
      items.push(item);
    }
    return { resident: els.eResident.value.trim() || null, enabled: els.eEnabled.checked, items: items };
  }

  function savePlan(body) {
    if (state.busy) return;
    state.busy = true;
    S.api("/api/care/plans/" + encodeURIComponent(state.home), { method: "PUT", body: body }).then(function (r) {
      state.busy = false;
      if (!r.ok) { message(t("care.error", { detail: r.detail })); return; }
      message(t("care.saved"), true);
      state.plan = r.data;
      state.noPlan = false;
      state.editing = false;
      renderPlan();
    });
  }

  // ---- page ----------------------------------------------------------------------------------

  function forbidden(detail) {
    // A grid worker asking for another grid's home gets the server's reason; other roles, ours.
    var reader = !state.me || OFFICE[state.me.role] || state.me.role === "grid_worker";
    var role = state.me ? t("role." + state.me.role) : "";
    message(reader && detail ? detail : t("care.forbidden", { role: role }));
    els.listView.hidden = true;
    els.planView.hidden = true;
  }

  function renderStatic() {
    document.title = t("care.title");
    S.applyStaticTexts();
    S.renderHeader(state.me);
  }

  function render() {
    renderStatic();
    if (state.home) renderPlan();
    else if (state.plans) renderList();
  }

  function start() {
    els = {
      message: $("message"), listView: $("list-view"), planView: $("plan-view"), fGrid: $("f-grid"),
      fHome: $("f-home"), listFilters: $("list-filters"), openHome: $("open-home"), plansBody: $("plans-body"),
      plansEmpty: $("plans-empty"), resident: $("resident"), homeLine: $("home-line"), planState: $("plan-state"),
      noPlan: $("no-plan"), createPlan: $("create-plan"), planBody: $("plan-body"), dueNext: $("due-next"),
      dueEmpty: $("due-empty"), editPlan: $("edit-plan"), itemsBody: $("items-body"), editForm: $("edit-form"),
      eResident: $("e-resident"), eEnabled: $("e-enabled"), editItems: $("edit-items"), editCancel: $("edit-cancel"),
      historyBody: $("history-body"), historyEmpty: $("history-empty")
    };
    I18N.load();
    var params = new URLSearchParams(window.location.search);
    state.home = (params.get("home") || "").trim() || null;
    renderStatic();
    S.bindHeader({ onLanguage: render });
    S.api("/api/auth/me").then(function (r) {
      if (!r.ok || !r.data) return;
      state.me = r.data;
      render();
    });
    if (state.home) {
      els.planView.hidden = false;
      els.createPlan.addEventListener("click", function () { savePlan({}); });
      els.editPlan.addEventListener("click", function () { state.editing = true; renderPlan(); });
      els.editCancel.addEventListener("click", function () { state.editing = false; renderPlan(); });
      els.editForm.addEventListener("submit", function (ev) { ev.preventDefault(); savePlan(readEdit()); });
      loadPlan();
    } else {
      els.listView.hidden = false;
      els.fGrid.value = params.get("grid") || "";
      els.listFilters.addEventListener("submit", function (ev) { ev.preventDefault(); loadList(); });
      els.openHome.addEventListener("click", function () {
        var home = els.fHome.value.trim();
        if (home) window.location.href = "/care.html?home=" + encodeURIComponent(home);
      });
      loadList();
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
