/* Shewu response reports page.
 *
 *   - GET api/reports/response?from=&to=&category=&grid= (the numbers; docs/api.md), redrawn on
 *     every change of the filters, which are kept in this page's URL so that a report can be shared;
 *   - GET api/reports/breach-reasons and PUT api/reports/breaches/{id} (reviewers: the reason of
 *     a breach);
 *   - CSV links to api/reports/response.csv and api/reports/response-groups.csv with the same filters.
 * Charts are inline SVG drawn here (no library, works offline). Every text from the server goes in
 * through textContent or setAttribute, never as HTML. Depends on i18n/ and common.js.
 */
(function () {
  "use strict";

  var I18N = window.ShewuI18n;
  var S = window.Shewu;
  var t = I18N.t;
  var el = S.el;
  var SVG_NS = "http://www.w3.org/2000/svg";
  var REVIEW_ROLES = S.OFFICE_ROLES; // hold orders.review (gateway/domain/roles.py)
  var DEFAULT_TZ = S.DEFAULT_TZ;

  var state = {
    me: null,
    report: null,
    reasons: null, // [{code, zh, en}]
    grids: {}, // every grid seen in a report of this session, for the grid picker
    drafts: {}, // order id → {reason, note}: a reviewer's unsaved choices survive a redraw
    saving: {}, // order id → "saving" | "saved" | error text
    seq: 0
  };
  var els = {};

  function $(id) { return document.getElementById(id); }

  // ---- time and numbers ----------------------------------------------------------------------

  function tz() { return (state.report && state.report.period && state.report.period.time_zone) || DEFAULT_TZ; }

  /** {y, m, d, H, M} of an instant in the community's time zone (the browser's if unknown). */
  function parts(ms, zone) {
    try {
      var fmt = new Intl.DateTimeFormat("en-GB", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
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

  function localDate(ms) { var p = parts(ms, tz()); return p.y + "-" + p.m + "-" + p.d; }
  function localDateTime(ms) { var p = parts(ms, tz()); return p.y + "-" + p.m + "-" + p.d + " " + p.H + ":" + p.M; }

  /** "YYYY-MM-DD" plus n days (calendar arithmetic, no time zone involved). */
  function addDays(day, n) {
    var a = day.split("-");
    var d = new Date(Date.UTC(+a[0], +a[1] - 1, +a[2] + n));
    return d.getUTCFullYear() + "-" + S.pad2(d.getUTCMonth() + 1) + "-" + S.pad2(d.getUTCDate());
  }

  function dur(sec) { return sec === null || sec === undefined ? t("field.none") : S.fmtDuration(sec); }
  function pct(v) { return v === null || v === undefined ? t("field.none") : v.toFixed(1) + "%"; }
  function serverNow() {
    var ms = state.report ? S.parseTime(state.report.now) : null;
    return ms === null ? Date.now() : ms;
  }

  // ---- filters and the URL -------------------------------------------------------------------

  function readUrl() {
    var q = new URLSearchParams(window.location.search);
    els.from.value = q.get("from") || "";
    els.to.value = q.get("to") || "";
    els.category.value = q.has("category") ? (q.get("category") || "") : "emergency";
    var grid = q.get("grid") || "";
    if (grid) state.grids[grid] = true;
    fillGrids(grid);
  }

  function query() {
    var q = new URLSearchParams();
    if (/^\d{4}-\d{2}-\d{2}$/.test(els.from.value)) q.set("from", els.from.value);
    if (/^\d{4}-\d{2}-\d{2}$/.test(els.to.value)) q.set("to", els.to.value);
    q.set("category", els.category.value);
    if (els.grid.value) q.set("grid", els.grid.value);
    return q;
  }

  /** The API query: the page's, without an empty category (all categories). */
  function apiQuery() {
    var q = query();
    if (!q.get("category")) q.delete("category");
    var s = q.toString();
    return s ? "?" + s : "";
  }

  function fillGrids(selected) {
    var keep = selected === undefined ? els.grid.value : selected;
    while (els.grid.options.length > 1) els.grid.remove(1);
    Object.keys(state.grids).sort().forEach(function (g) {
      if (g === "") return; // orders without a grid: not a filter the picker offers
      var o = el("option", null, g);
      o.value = g;
      els.grid.appendChild(o);
    });
    els.grid.value = keep;
    if (els.grid.value !== keep) els.grid.value = "";
  }

  function preset(name) {
    var today = localDate(serverNow());
    var from;
    var to = today;
    if (name === "month") {
      from = today.slice(0, 8) + "01";
    } else if (name === "lastMonth") {
      to = addDays(today.slice(0, 8) + "01", -1);
      from = to.slice(0, 8) + "01";
    } else {
      from = addDays(today, -(parseInt(name, 10) - 1));
    }
    els.from.value = from;
    els.to.value = to;
    load();
  }

  // ---- loading -------------------------------------------------------------------------------

  function load() {
    var seq = ++state.seq;
    var q = apiQuery();
    var pageQuery = query().toString();
    try {
      window.history.replaceState(null, "", window.location.pathname + (pageQuery ? "?" + pageQuery : ""));
    } catch (e) { /* ignore */ }
    els.csvOrders.href = "/api/reports/response.csv" + q;
    els.csvGroups.href = "/api/reports/response-groups.csv" + q;
    els.main.setAttribute("aria-busy", "true");
    els.main.classList.add("stale");
    S.api("/api/reports/response" + q).then(function (r) {
      if (seq !== state.seq) return;
      els.main.setAttribute("aria-busy", "false");
      els.main.classList.remove("stale");
      if (r.status === 401) return; // on the way to the sign-in page
      if (r.status === 403) { forbidden(); return; }
      if (!r.ok || !r.data || typeof r.data !== "object") {
        showError(t("rep.error", { detail: r.detail || S.detailText(r.status, r.data) }));
        return;
      }
      showError("");
      state.report = r.data;
      (r.data.by_grid || []).forEach(function (g) { state.grids[g.key] = true; });
      fillGrids();
      if (!els.from.value && r.data.period) els.from.value = localDate(S.parseTime(r.data.period.from));
      if (!els.to.value && r.data.period) els.to.value = localDate(S.parseTime(r.data.period.to) - 1);
      render();
    });
  }

  function forbidden() {
    els.forbidden.hidden = false;
    els.main.hidden = true;
    var role = state.me ? I18N.tOr("role." + state.me.role, String(state.me.role)) : "?";
    S.setText(els.forbiddenText, t("rep.forbidden", { role: role }));
  }

  function showError(text) {
    els.error.hidden = !text;
    S.setText(els.error, text);
  }

  // ---- drawing -------------------------------------------------------------------------------

  function render() {
    renderStatic();
    var rep = state.report;
    if (!rep) return;
    S.setText(els.period, t("rep.period", {
      from: localDateTime(S.parseTime(rep.period.from)),
      to: localDateTime(S.parseTime(rep.period.to)),
      tz: rep.period.time_zone,
      count: rep.orders
    }));
    renderCards();
    drawHistogram(els.chartHist, rep.onsite_histogram);
    drawMonths(els.chartMonth, rep.by_month || []);
    renderBreaches();
    groupTable(els.tableGrid, rep.by_grid || [], function (k) { return k === "" ? t("rep.noGrid") : k; });
    groupTable(els.tableTeam, rep.by_team || [], function (k) {
      return k === "unassigned" ? t("rep.team.unassigned") : k;
    });
    groupTable(els.tableMonth, rep.by_month || [], function (k) { return k; });
  }

  function renderStatic() {
    S.applyStaticTexts();
    document.title = t("rep.title");
    S.renderHeader(state.me);
    fillGrids();
  }

  function card(key, title, value, lines, valueLabel) {
    var c = el("div", "rep-card");
    c.dataset.card = key;
    c.appendChild(el("div", "rep-card-title", title));
    var v = el("div", "rep-card-value");
    if (valueLabel) v.appendChild(el("span", "rep-card-unit", valueLabel));
    v.appendChild(el("span", "mono", value));
    c.appendChild(v);
    lines.forEach(function (line) { if (line) c.appendChild(el("div", "rep-card-line", line)); });
    return c;
  }

  function statsCard(key, title, s) {
    if (!s || !s.count) return card(key, title, t("field.none"), [t("rep.noData")]);
    return card(key, title, dur(s.median_s), [
      t("rep.p90") + " " + dur(s.p90_s) + " · " + t("rep.max") + " " + dur(s.max_s),
      t("rep.mean") + " " + dur(s.mean_s) + " · " + t("rep.n", { count: s.count })
    ], t("rep.median"));
  }

  function renderCards() {
    var rep = state.report;
    var box = els.cards;
    box.textContent = "";
    box.appendChild(statsCard("tta", t("rep.cardTta"), rep.summary.tta));
    box.appendChild(statsCard("ttos", t("rep.cardTtos"), rep.summary.ttos));
    box.appendChild(statsCard("ttr", t("rep.cardTtr"), rep.summary.ttr));
    var o = rep.emergency_onsite;
    var on = card("onsite", t("rep.cardOnsite"), pct(o.pct), [t("rep.onsiteDetail", o), t("rep.onsiteAside", o)]);
    if (o.pct !== null && o.pct !== undefined) on.classList.add(o.pct >= 90 ? "good" : o.pct >= 70 ? "fair" : "poor");
    box.appendChild(on);
    var breaches = rep.breaches || [];
    var open = breaches.filter(function (b) { return !b.reason; }).length;
    var bc = card("breaches", t("rep.cardBreaches"), String(breaches.length),
                  [t("rep.breachesDetail", { count: open })]);
    if (open) bc.classList.add("poor");
    box.appendChild(bc);
  }

  function svg(tag, attrs, text) {
    var n = document.createElementNS(SVG_NS, tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) n.setAttribute(k, String(attrs[k]));
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }

  /** The top of a count axis with four whole-number steps. */
  function niceMax(v) { return Math.max(1, Math.ceil(v / 4)) * 4; }

  function frame(box, label, w, h) {
    box.textContent = "";
    var root = svg("svg", { viewBox: "0 0 " + w + " " + h, role: "img", "aria-label": label, class: "chart" });
    root.appendChild(svg("title", {}, label));
    box.appendChild(root);
    return root;
  }

  function yAxis(root, g, yMax, fmt, title) {
    for (var i = 0; i <= 4; i++) {
      var v = yMax * i / 4;
      var y = g.t + g.h - g.h * i / 4;
      root.appendChild(svg("line", { x1: g.l, x2: g.l + g.w, y1: y, y2: y, class: "grid" }));
      root.appendChild(svg("text", { x: g.l - 6, y: y + 4, class: "tick", "text-anchor": "end" }, fmt(v)));
    }
    root.appendChild(svg("text", { x: 12, y: g.t + g.h / 2, class: "axis-title", "text-anchor": "middle",
                                   transform: "rotate(-90 12 " + (g.t + g.h / 2) + ")" }, title));
  }

  function drawHistogram(box, hist) {
    var bins = (hist && hist.bins) || [];
    var W = 660, H = 270;
    var g = { l: 48, t: 18, w: 600, h: 200 };
    var root = frame(box, t("rep.histTitle"), W, H);
    var max = 0;
    bins.forEach(function (b) { max = Math.max(max, b.count); });
    var yMax = niceMax(max);
    yAxis(root, g, yMax, function (v) { return String(Math.round(v)); }, t("rep.countAxis"));
    var n = bins.length || 1;
    var bw = g.w / n;
    var target = hist && hist.target_s ? hist.target_s : null;
    bins.forEach(function (b, i) {
      var h = yMax ? g.h * b.count / yMax : 0;
      var x = g.l + i * bw;
      var late = target !== null && b.from_s >= target;
      var rect = svg("rect", { x: x + 1, y: g.t + g.h - h, width: Math.max(1, bw - 2), height: h,
                               class: "bar " + (late ? "bar-late" : "bar-ok") });
      rect.dataset.from = b.from_s;
      rect.dataset.count = b.count;
      var fromMin = Math.round(b.from_s / 60);
      rect.appendChild(svg("title", {}, b.to_s === null
        ? t("rep.histBarOpen", { from: fromMin, count: b.count })
        : t("rep.histBar", { from: fromMin, to: Math.round(b.to_s / 60), count: b.count })));
      root.appendChild(rect);
      if (fromMin % 5 === 0) {
        var label = b.to_s === null ? fromMin + "+" : String(fromMin);
        root.appendChild(svg("text", { x: b.to_s === null ? x + bw / 2 : x, y: g.t + g.h + 16, class: "tick",
                                       "text-anchor": "middle" }, label));
      }
    });
    root.appendChild(svg("line", { x1: g.l, x2: g.l + g.w, y1: g.t + g.h, y2: g.t + g.h, class: "axis" }));
    root.appendChild(svg("text", { x: g.l + g.w / 2, y: H - 8, class: "axis-title", "text-anchor": "middle" },
                         t("rep.histAxis")));
    if (target !== null && bins.length) {
      var tx = g.l + (target / (bins[0].to_s - bins[0].from_s)) * bw;
      root.appendChild(svg("line", { x1: tx, x2: tx, y1: g.t - 6, y2: g.t + g.h, class: "target" }));
      root.appendChild(svg("text", { x: tx + 4, y: g.t + 6, class: "target-label" },
                           t("rep.histTarget", { min: Math.round(target / 60) })));
    }
  }

  function drawMonths(box, months) {
    var W = 660, H = 270;
    var g = { l: 48, t: 22, w: 600, h: 196 };
    var root = frame(box, t("rep.monthTitle"), W, H);
    yAxis(root, g, 100, function (v) { return v + "%"; }, t("rep.col.onTarget"));
    var n = months.length || 1;
    var slot = g.w / n;
    var bw = Math.min(56, slot * 0.7);
    var every = n > 12 ? Math.ceil(n / 12) : 1;
    months.forEach(function (m, i) {
      var cx = g.l + slot * i + slot / 2;
      var o = m.onsite || {};
      var has = o.decided > 0 && o.pct !== null && o.pct !== undefined;
      var h = has ? g.h * o.pct / 100 : 0;
      var title = has
        ? t("rep.monthBar", { month: m.key, pct: pct(o.pct), on_time: o.on_time, decided: o.decided })
        : t("rep.monthNone", { month: m.key });
      var rect = svg("rect", { x: cx - bw / 2, y: g.t + g.h - h, width: bw, height: h,
                               class: "bar " + (!has ? "bar-none" : o.pct >= 90 ? "bar-ok" : o.pct >= 70 ? "bar-fair" : "bar-late") });
      rect.dataset.month = m.key;
      rect.appendChild(svg("title", {}, title));
      root.appendChild(rect);
      root.appendChild(svg("text", { x: cx, y: g.t + g.h - h - 5, class: "bar-label", "text-anchor": "middle" },
                           has ? Math.round(o.pct) + "%" : t("field.none")));
      if (i % every === 0) {
        root.appendChild(svg("text", { x: cx, y: g.t + g.h + 16, class: "tick", "text-anchor": "middle" }, m.key));
      }
    });
    root.appendChild(svg("line", { x1: g.l, x2: g.l + g.w, y1: g.t + g.h, y2: g.t + g.h, class: "axis" }));
  }

  function table(headers, rows, className) {
    var tbl = el("table", "rep-table" + (className ? " " + className : ""));
    var thead = el("thead");
    var tr = el("tr");
    headers.forEach(function (h) { tr.appendChild(el("th", h.num ? "num" : null, h.label)); });
    thead.appendChild(tr);
    tbl.appendChild(thead);
    var tbody = el("tbody");
    rows.forEach(function (cells) {
      var row = el("tr");
      cells.forEach(function (c, i) {
        var td = el("td", headers[i].num ? "num mono" : null);
        if (c instanceof Node) td.appendChild(c); else td.textContent = c === null || c === undefined ? "" : String(c);
        row.appendChild(td);
      });
      tbody.appendChild(row);
    });
    tbl.appendChild(tbody);
    return tbl;
  }

  function groupTable(box, groups, label) {
    box.textContent = "";
    if (!groups.length) { box.appendChild(el("p", "rep-empty", t("rep.noData"))); return; }
    var headers = [{ label: t("rep.col.key") }, { label: t("rep.col.orders"), num: true },
                   { label: t("rep.col.mtta"), num: true }, { label: t("rep.col.mttr"), num: true },
                   { label: t("rep.col.onTarget"), num: true }, { label: t("rep.col.breaches"), num: true }];
    box.appendChild(table(headers, groups.map(function (g) {
      var o = g.onsite || {};
      return [label(g.key), g.orders, dur(g.mtta_s), dur(g.mttr_s),
              o.decided ? pct(o.pct) + " (" + t("rep.ofDecided", o) + ")" : t("field.none"), g.breaches];
    })));
  }

  function reasonLabel(code) {
    if (!code) return t("rep.unreviewed");
    var list = state.reasons || [];
    for (var i = 0; i < list.length; i++) {
      if (list[i].code === code) return I18N.lang === "en" ? list[i].en : list[i].zh;
    }
    return code;
  }

  function canReview() { return !!(state.me && REVIEW_ROLES[state.me.role]); }

  function renderBreaches() {
    var box = els.breaches;
    var breaches = (state.report && state.report.breaches) || [];
    var reviewer = canReview();
    S.setText(els.breachHint, t(reviewer ? "rep.breachHintReviewer" : "rep.breachHintReader"));
    box.textContent = "";
    if (!breaches.length) { box.appendChild(el("p", "rep-empty", t("rep.noBreaches"))); return; }
    var headers = [{ label: t("rep.col.order") }, { label: t("rep.col.kind") }, { label: t("rep.col.grid") },
                   { label: t("rep.col.assignee") }, { label: t("rep.col.opened") }, { label: t("rep.col.outcome") },
                   { label: t("rep.col.late"), num: true }, { label: t("rep.col.reason") }, { label: t("rep.col.note") },
                   { label: t("rep.col.reviewed") }];
    var tbl = table(headers, breaches.map(function (b) { return breachCells(b, reviewer); }), "rep-breaches");
    var trs = tbl.tBodies[0].rows;
    for (var i = 0; i < trs.length; i++) {
      trs[i].dataset.order = breaches[i].order_id;
      if (!breaches[i].reason) trs[i].classList.add("unreviewed");
    }
    box.appendChild(tbl);
  }

  function breachCells(b, reviewer) {
    var who = b.assignee ? b.assignee + (b.team && b.team !== "unassigned" ? " · " + b.team : "")
                         : t("field.unassigned");
    var outcome = I18N.tOr("rep.outcome." + b.outcome, String(b.outcome));
    var reviewed = b.reviewed_by
      ? b.reviewed_by + " · " + localDateTime(S.parseTime(b.reviewed_at)) : t("field.none");
    var cells = ["#" + b.order_id, I18N.tOr("kind." + b.kind, String(b.kind)), b.grid || t("rep.noGrid"), who,
                 localDateTime(S.parseTime(b.opened_at)), outcome, dur(b.late_s)];
    if (!reviewer) return cells.concat([reasonLabel(b.reason), b.note || "", reviewed]);

    var draft = state.drafts[b.order_id] || { reason: b.reason || "", note: b.note || "" };
    var select = el("select", "rep-reason");
    select.setAttribute("aria-label", t("rep.col.reason") + " #" + b.order_id);
    var none = el("option", null, t("rep.choose"));
    none.value = "";
    select.appendChild(none);
    (state.reasons || []).forEach(function (r) {
      var o = el("option", null, I18N.lang === "en" ? r.en : r.zh);
      o.value = r.code;
      select.appendChild(o);
    });
    select.value = draft.reason;
    var note = el("input", "rep-note");
    note.type = "text";
    note.maxLength = 2000;
    note.placeholder = t("rep.notePlaceholder");
    note.setAttribute("aria-label", t("rep.col.note") + " #" + b.order_id);
    note.value = draft.note;
    var remember = function () { state.drafts[b.order_id] = { reason: select.value, note: note.value }; };
    select.addEventListener("change", remember);
    note.addEventListener("input", remember);

    var save = el("button", "toggle rep-save", t("rep.save"));
    save.type = "button";
    var status = el("span", "rep-status");
    var s = state.saving[b.order_id];
    if (s === "saving") { save.disabled = true; status.textContent = t("rep.saving"); }
    else if (s === "saved") { status.textContent = t("rep.saved"); status.classList.add("ok"); }
    else if (s) { status.textContent = s; status.classList.add("error"); }
    save.addEventListener("click", function () { saveReason(b.order_id, select.value, note.value); });
    var reasonCell = el("span", "rep-reason-cell");
    reasonCell.appendChild(select);
    var noteCell = el("span", "rep-note-cell");
    noteCell.appendChild(note);
    noteCell.appendChild(save);
    noteCell.appendChild(status);
    return cells.concat([reasonCell, noteCell, reviewed]);
  }

  function saveReason(orderId, reason, note) {
    if (!reason) {
      state.saving[orderId] = t("rep.chooseFirst");
      renderBreaches();
      return;
    }
    state.saving[orderId] = "saving";
    renderBreaches();
    var body = { reason: reason, note: note.trim() ? note.trim() : null };
    S.api("/api/reports/breaches/" + encodeURIComponent(orderId), { method: "PUT", body: body }).then(function (r) {
      if (r.ok && r.data) {
        state.saving[orderId] = "saved";
        delete state.drafts[orderId];
        var list = (state.report && state.report.breaches) || [];
        for (var i = 0; i < list.length; i++) if (list[i].order_id === orderId) list[i] = r.data;
        renderCards();
      } else {
        state.saving[orderId] = t("rep.saveFailed", { detail: r.detail });
      }
      renderBreaches();
    });
  }

  // ---- start ---------------------------------------------------------------------------------

  function start() {
    els = {
      main: $("report"), period: $("rep-period"), cards: $("cards"), chartHist: $("chart-hist"),
      chartMonth: $("chart-month"), breaches: $("breaches"), breachHint: $("breach-hint"),
      tableGrid: $("table-grid"), tableTeam: $("table-team"), tableMonth: $("table-month"),
      form: $("filters"), from: $("f-from"), to: $("f-to"), category: $("f-category"), grid: $("f-grid"),
      csvOrders: $("csv-orders"), csvGroups: $("csv-groups"), forbidden: $("forbidden"),
      forbiddenText: $("forbidden-text"), error: $("rep-error")
    };
    I18N.load();
    readUrl();
    renderStatic();
    S.bindHeader({ onLanguage: render });
    els.form.addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
    els.category.addEventListener("change", load);
    els.grid.addEventListener("change", load);
    var presets = document.querySelectorAll("[data-preset]");
    for (var i = 0; i < presets.length; i++) {
      presets[i].addEventListener("click", function (ev) { preset(ev.currentTarget.getAttribute("data-preset")); });
    }
    S.api("/api/auth/me").then(function (r) {
      if (!r.ok || !r.data) return;
      state.me = r.data;
      if (!els.forbidden.hidden) forbidden();
      render();
    });
    S.api("/api/reports/breach-reasons").then(function (r) {
      if (r.ok && Array.isArray(r.data)) {
        state.reasons = r.data;
        if (state.report) renderBreaches();
      }
    });
    load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
