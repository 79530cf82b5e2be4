/* Shewu device fleet page (fleet.html).
 *
 *   - GET api/fleet?grid=&state= : every registered device with its state (ok, offline, tamper,
 *     low battery, power lost) and all its flags; reloaded every 30 s. The filters live in the
 *     page's URL (?grid=&state=&q=&device=) so that a view can be shared;
 *   - a device's detail: GET api/fleet/{id} (its state, profile and open orders) and
 *     GET api/devices/{id}/history?days=30, drawn as an inline SVG battery chart (no library);
 *   - a CSV link to api/devices/export.
 * Every text from the server goes in through textContent or setAttribute, never as HTML.
 * Depends on i18n/ (with i18n/fleet.js) and common.js. */
(function () {
  "use strict";

  var I18N = window.ShewuI18n;
  var S = window.Shewu;
  var t = I18N.t;
  var el = S.el;
  var SVG_NS = "http://www.w3.org/2000/svg";
  var STATES = ["offline", "tamper", "low_battery", "power_lost", "ok"];
  var REFRESH_MS = 30000;
  var HISTORY_DAYS = 30;

  var state = {
    me: null,
    data: null, // the last /api/fleet answer
    offset: 0, // server clock minus this browser's, from the last answer
    grids: {},
    selected: null, // device id of the detail panel
    detail: null, // /api/fleet/{id}
    history: null, // /api/devices/{id}/history, or {error}
    seq: 0,
    detailSeq: 0
  };
  var els = {};

  function $(id) { return document.getElementById(id); }

  // ---- time and words ------------------------------------------------------------------------

  function now() { return Date.now() + state.offset; }

  function ago(iso) {
    var ms = S.parseTime(iso);
    if (ms === null) return t("fl.ago.never");
    var s = Math.max(0, (now() - ms) / 1000);
    if (s < 60) return t("fl.ago.now");
    if (s < 3600) return t("fl.ago.min", { n: Math.floor(s / 60) });
    if (s < 48 * 3600) return t("fl.ago.hour", { n: Math.floor(s / 3600) });
    return t("fl.ago.day", { n: Math.floor(s / 86400) });
  }

  function until(iso) {
    var ms = S.parseTime(iso);
    if (ms === null) return t("field.none");
    var s = (ms - now()) / 1000;
    if (s <= 0) return t("fl.in.past");
    if (s < 3600) return t("fl.in.min", { n: Math.max(1, Math.floor(s / 60)) });
    if (s < 48 * 3600) return t("fl.in.hour", { n: Math.floor(s / 3600) });
    return t("fl.in.day", { n: Math.floor(s / 86400) });
  }

  function when(iso) {
    var ms = S.parseTime(iso);
    return ms === null ? t("field.none") : S.fmtDate(ms) + " " + S.fmtHm(ms);
  }

  function duration(sec) {
    return sec % 3600 === 0 ? t("fl.dur.hour", { n: sec / 3600 }) : t("fl.dur.min", { n: Math.round(sec / 60) });
  }

  function deviceKind(k) { return k ? I18N.tOr("fl.dk." + k, String(k)) : t("fl.dk.none"); }
  function orderKind(k) { return I18N.tOr("fl.ok." + k, I18N.tOr("kind." + k, String(k))); }
  function stateName(s) { return I18N.tOr("fl.st." + s, String(s)); }
  function num(v) { return v === null || v === undefined ? t("field.none") : String(Math.round(v)); }

  /** Device ids may hold "/": encode each segment, keep the slashes (the API takes a path). */
  function idPath(id) { return String(id).split("/").map(encodeURIComponent).join("/"); }

  // ---- filters and the URL -------------------------------------------------------------------

  function readUrl() {
    var q = new URLSearchParams(window.location.search);
    var grid = q.get("grid") || "";
    if (grid) state.grids[grid] = true;
    fillGrids(grid);
    var st = q.get("state") || "";
    state.filter = STATES.indexOf(st) >= 0 ? st : "";
    els.q.value = q.get("q") || "";
    state.selected = q.get("device") || null;
  }

  function writeUrl() {
    var q = new URLSearchParams();
    if (els.grid.value) q.set("grid", els.grid.value);
    if (state.filter) q.set("state", state.filter);
    if (els.q.value.trim()) q.set("q", els.q.value.trim());
    if (state.selected) q.set("device", state.selected);
    var s = q.toString();
    try {
      window.history.replaceState(null, "", window.location.pathname + (s ? "?" + s : ""));
    } catch (e) { /* ignore */ }
  }

  function apiQuery() {
    var q = new URLSearchParams();
    if (els.grid.value) q.set("grid", els.grid.value);
    if (state.filter) q.set("state", state.filter);
    var s = q.toString();
    return s ? "?" + s : "";
  }

  function fillGrids(selected) {
    var keep = selected === undefined ? els.grid.value : selected;
    while (els.grid.options.length > 1) els.grid.remove(1);
    Object.keys(state.grids).sort().forEach(function (g) {
      var o = el("option", null, g);
      o.value = g;
      els.grid.appendChild(o);
    });
    els.grid.value = keep;
    if (els.grid.value !== keep) els.grid.value = "";
  }

  // ---- loading -------------------------------------------------------------------------------

  function load() {
    var seq = ++state.seq;
    writeUrl();
    els.csv.href = "/api/devices/export" + (els.grid.value ? "?grid=" + encodeURIComponent(els.grid.value) : "");
    els.main.setAttribute("aria-busy", "true");
    els.main.classList.add("stale");
    var asked = Date.now();
    S.api("/api/fleet" + apiQuery()).then(function (r) {
      if (seq !== state.seq) return;
      els.main.setAttribute("aria-busy", "false");
      els.main.classList.remove("stale");
      if (r.status === 401) return; // on the way to the sign-in page
      if (r.status === 403) { forbidden(); return; }
      if (!r.ok || !r.data || !Array.isArray(r.data.devices)) {
        showError(t("fl.error", { detail: r.detail || S.detailText(r.status, r.data) }));
        return;
      }
      showError("");
      var server = S.parseTime(r.data.now);
      if (server !== null) state.offset = server - (asked + Date.now()) / 2;
      state.data = r.data;
      (r.data.grids || []).forEach(function (g) { state.grids[g] = true; });
      fillGrids();
      render();
      if (state.selected) {
        if (!state.detail || state.detail.device_id !== state.selected) openDetail(state.selected);
        else refreshDetailRow();
      }
    });
  }

  function forbidden() {
    els.forbidden.hidden = false;
    els.main.hidden = true;
    els.detail.hidden = true;
    var role = state.me ? I18N.tOr("role." + state.me.role, String(state.me.role)) : "?";
    S.setText(els.forbiddenText, t("fl.forbidden", { role: role }));
  }

  function showError(text) {
    els.error.hidden = !text;
    S.setText(els.error, text);
  }

  // ---- drawing: the list ---------------------------------------------------------------------

  function render() {
    renderStatic();
    renderStates();
    renderRows();
    if (state.selected && state.detail) renderDetail();
  }

  function renderStatic() {
    S.applyStaticTexts();
    document.title = t("fl.title");
    S.renderHeader(state.me);
    if (state.data) {
      var ms = S.parseTime(state.data.now);
      S.setText(els.updated, ms === null ? "" : t("fl.updated", { time: S.fmtClock(ms - state.offset) }));
    }
  }

  function renderStates() {
    var counts = (state.data && state.data.counts) || {};
    els.states.textContent = "";
    [""].concat(STATES).forEach(function (s) {
      var b = el("button", "toggle");
      b.type = "button";
      b.setAttribute("data-state", s || "all");
      b.setAttribute("aria-pressed", state.filter === s ? "true" : "false");
      if (s) b.appendChild(el("span", "badge st-" + s, stateName(s)));
      else b.appendChild(el("span", null, t("fl.st.all")));
      var n = s ? counts[s] : counts.all;
      if (n !== undefined) b.appendChild(el("span", "n", String(n)));
      b.addEventListener("click", function () {
        state.filter = s;
        load();
      });
      els.states.appendChild(b);
    });
  }

  function badges(d, box) {
    var flags = d.flags && d.flags.length ? d.flags : ["ok"];
    flags.forEach(function (f, i) {
      var b = el("span", "badge st-" + f + (i === 0 ? " primary" : " secondary"), stateName(f));
      b.setAttribute("data-flag", f);
      box.appendChild(b);
    });
    return box;
  }

  function battery(d) {
    var wrap = el("span", "batt");
    if (d.battery === null || d.battery === undefined) {
      wrap.textContent = t("field.none");
      return wrap;
    }
    var low = state.data && d.battery <= state.data.low_battery_pct;
    if (low || (d.flags || []).indexOf("low_battery") >= 0) wrap.classList.add("low");
    var bar = el("span", "batt-bar");
    var fill = el("span", "batt-fill");
    fill.style.width = Math.max(0, Math.min(100, d.battery)) + "%";
    bar.appendChild(fill);
    wrap.appendChild(el("span", "mono", num(d.battery) + "%"));
    wrap.appendChild(bar);
    return wrap;
  }

  function matches(d, q) {
    if (!q) return true;
    var hay = [d.device_id, d.home_id, d.resident, d.address, d.model, d.grid].join("\u0000").toLowerCase();
    return hay.indexOf(q) >= 0;
  }

  function cell(tr, content, className) {
    var td = el("td", className || null);
    if (content instanceof Node) td.appendChild(content); else td.textContent = content;
    tr.appendChild(td);
    return td;
  }

  function renderRows() {
    var devices = (state.data && state.data.devices) || [];
    var q = els.q.value.trim().toLowerCase();
    var shown = devices.filter(function (d) { return matches(d, q); });
    var frag = document.createDocumentFragment();
    shown.forEach(function (d) {
      var tr = el("tr");
      tr.setAttribute("data-device", d.device_id);
      tr.setAttribute("data-state", d.state);
      tr.tabIndex = 0;
      if (d.device_id === state.selected) tr.classList.add("selected");
      cell(tr, badges(d, el("span", "fl-badges")));
      cell(tr, d.device_id, "dev");
      var home = el("span");
      home.appendChild(el("span", null, d.resident || (d.home_id ? d.home_id : t("fl.noHome"))));
      if (d.address || d.home_id) home.appendChild(el("span", "sub", [d.home_id, d.address].filter(Boolean).join(" · ")));
      cell(tr, home);
      cell(tr, d.grid || t("field.none"));
      cell(tr, deviceKind(d.kind), "nowrap");
      cell(tr, d.model || t("field.none"), "mono");
      var seen = cell(tr, ago(d.last_seen), "nowrap");
      seen.setAttribute("data-role", "last-seen");
      if (d.last_seen) seen.title = when(d.last_seen);
      cell(tr, battery(d), "num");
      cell(tr, num(d.linkquality), "num mono");
      var dl = cell(tr, until(d.deadline_at), "nowrap");
      if (d.deadline_at) {
        dl.title = when(d.deadline_at);
        if (S.parseTime(d.deadline_at) <= now()) dl.classList.add("past");
      }
      tr.addEventListener("click", function () { select(d.device_id); });
      tr.addEventListener("keydown", function (ev) {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); select(d.device_id); }
      });
      frag.appendChild(tr);
    });
    els.rows.textContent = "";
    els.rows.appendChild(frag);
    els.empty.hidden = !state.data || shown.length > 0;
    if (state.data) S.setText(els.count, t("fl.shown", { shown: shown.length, total: devices.length }));
  }

  // ---- drawing: the detail -------------------------------------------------------------------

  function select(id) {
    state.selected = id;
    writeUrl();
    var trs = els.rows.querySelectorAll("tr");
    for (var i = 0; i < trs.length; i++) trs[i].classList.toggle("selected", trs[i].getAttribute("data-device") === id);
    openDetail(id);
  }

  function closeDetail() {
    state.selected = null;
    state.detail = null;
    state.history = null;
    state.detailSeq++;
    els.detail.hidden = true;
    writeUrl();
    var trs = els.rows.querySelectorAll("tr.selected");
    for (var i = 0; i < trs.length; i++) trs[i].classList.remove("selected");
  }

  function openDetail(id) {
    var seq = ++state.detailSeq;
    state.detail = null;
    state.history = null;
    els.detail.hidden = false;
    S.setText(els.detailTitle, id);
    els.detailStates.textContent = "";
    els.detailFields.textContent = "";
    els.detailOrders.textContent = "";
    els.chart.textContent = "";
    els.chart.appendChild(el("p", "fl-note", t("fl.chartLoading")));
    S.api("/api/fleet/" + idPath(id)).then(function (r) {
      if (seq !== state.detailSeq) return;
      if (!r.ok || !r.data) {
        if (r.status === 404) { closeDetail(); return; }
        showError(t("fl.error", { detail: r.detail }));
        return;
      }
      state.detail = r.data;
      renderDetail();
    });
    S.api("/api/devices/" + idPath(id) + "/history?days=" + HISTORY_DAYS).then(function (r) {
      if (seq !== state.detailSeq) return;
      state.history = r.ok && r.data ? r.data : { error: r.detail || S.detailText(r.status, r.data) };
      if (state.detail) renderDetail(); else drawHistory();
    });
  }

  /** After a reload of the list: the selected device's row as the list has it now. */
  function refreshDetailRow() {
    var devices = (state.data && state.data.devices) || [];
    for (var i = 0; i < devices.length; i++) {
      if (devices[i].device_id === state.selected) {
        var profile = state.detail.profile;
        state.detail = devices[i];
        state.detail.profile = profile;
        renderDetail();
        return;
      }
    }
  }

  function field(name, value) {
    els.detailFields.appendChild(el("dt", null, t(name)));
    var dd = el("dd", null, value === null || value === undefined || value === "" ? t("field.none") : value);
    els.detailFields.appendChild(dd);
    return dd;
  }

  function renderDetail() {
    var d = state.detail;
    if (!d) return;
    els.detail.hidden = false;
    S.setText(els.detailTitle, d.device_id);
    els.detailStates.textContent = "";
    badges(d, els.detailStates);
    els.detailFields.textContent = "";
    field("fl.d.home", d.home_id);
    field("fl.d.resident", d.resident);
    field("fl.d.address", d.address);
    field("fl.d.grid", d.grid);
    field("fl.d.kind", deviceKind(d.kind));
    field("fl.d.model", d.model);
    field("fl.d.power", (d.mains ? t("fl.mains") : t("fl.batteryPowered")) +
                        (d.power ? " · " + I18N.tOr("fl.power." + d.power, String(d.power)) : ""));
    if (d.profile) {
      field("fl.d.profile", t("fl.d.profileValue", { interval: duration(d.profile.interval_s),
                                                     grace: duration(d.profile.grace_s) }));
    }
    field("fl.d.lastSeen", d.last_seen ? ago(d.last_seen) + " (" + when(d.last_seen) + ")" : t("fl.ago.never"));
    field("fl.d.availability", d.availability ? I18N.tOr("fl.avail." + d.availability, String(d.availability)) : null);
    field("fl.d.battery", d.battery === null || d.battery === undefined ? null : num(d.battery) + "%");
    field("fl.d.link", d.linkquality === null || d.linkquality === undefined ? null : num(d.linkquality));
    field("fl.d.deadline", d.deadline_at ? until(d.deadline_at) + " (" + when(d.deadline_at) + ")" : null);
    if (d.supervision === "offline") {
      field("fl.d.offline", (d.offline_reason ? I18N.tOr("fl.reason." + d.offline_reason, String(d.offline_reason))
                                              : "") + (d.offline_since ? " · " + when(d.offline_since) : ""));
    }
    els.detailOrders.textContent = "";
    var orders = d.orders || [];
    if (!orders.length) els.detailOrders.appendChild(el("li", "none", t("fl.noOrders")));
    orders.forEach(function (o) {
      var li = el("li", null, t("fl.order", {
        id: o.id, kind: orderKind(o.kind), priority: o.priority,
        status: I18N.tOr("status." + o.status, String(o.status)), opened: when(o.opened_at)
      }));
      li.setAttribute("data-order", o.id);
      li.setAttribute("data-kind", o.kind);
      els.detailOrders.appendChild(li);
    });
    drawHistory();
  }

  function svg(tag, attrs, text) {
    var n = document.createElementNS(SVG_NS, tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) n.setAttribute(k, String(attrs[k]));
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }

  function drawHistory() {
    var box = els.chart;
    var h = state.history;
    box.textContent = "";
    if (!h) { box.appendChild(el("p", "fl-note", t("fl.chartLoading"))); return; }
    if (h.error) { box.appendChild(el("p", "fl-note", t("fl.chartError", { detail: h.error }))); return; }
    var points = (h.points || []).filter(function (p) {
      return p.battery !== null && p.battery !== undefined && S.parseTime(p.at) !== null;
    });
    if (!points.length) { box.appendChild(el("p", "fl-note", t("fl.chartNone"))); return; }
    var W = 420, H = 190;
    var g = { l: 36, t: 12, w: 360, h: 140 };
    var x0 = S.parseTime(h.from), x1 = S.parseTime(h.to);
    if (x0 === null || x1 === null || x1 <= x0) { x0 = S.parseTime(points[0].at); x1 = x0 + 1; }
    var label = t("fl.chartLabel", { device: h.device_id });
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": label, class: "chart" });
    root.appendChild(svg("title", {}, label));
    function X(ms) { return g.l + g.w * Math.max(0, Math.min(1, (ms - x0) / (x1 - x0))); }
    function Y(v) { return g.t + g.h - g.h * Math.max(0, Math.min(100, v)) / 100; }
    [0, 25, 50, 75, 100].forEach(function (v) {
      root.appendChild(svg("line", { x1: g.l, x2: g.l + g.w, y1: Y(v), y2: Y(v), class: "grid" }));
      root.appendChild(svg("text", { x: g.l - 5, y: Y(v) + 4, class: "tick", "text-anchor": "end" }, v + "%"));
    });
    var days = Math.max(1, Math.round((x1 - x0) / 86400000));
    var step = days <= 7 ? 1 : Math.ceil(days / 5);
    for (var i = 0; i <= days; i += step) {
      var ms = x0 + i * 86400000;
      var d = new Date(ms);
      var anchor = i === 0 ? "start" : i === days ? "end" : "middle";
      root.appendChild(svg("text", { x: X(ms), y: g.t + g.h + 16, class: "tick", "text-anchor": anchor },
                           S.pad2(d.getMonth() + 1) + "-" + S.pad2(d.getDate())));
    }
    root.appendChild(svg("line", { x1: g.l, x2: g.l + g.w, y1: g.t + g.h, y2: g.t + g.h, class: "axis" }));
    var low = typeof h.low_battery_pct === "number" ? h.low_battery_pct : 10;
    root.appendChild(svg("line", { x1: g.l, x2: g.l + g.w, y1: Y(low), y2: Y(low), class: "threshold" }));
    root.appendChild(svg("text", { x: g.l + g.w - 2, y: Y(low) - 4, class: "threshold-label", "text-anchor": "end" },
                         t("fl.chartThreshold", { pct: low })));
    var coords = points.map(function (p) { return X(S.parseTime(p.at)).toFixed(1) + "," + Y(p.battery).toFixed(1); });
    root.appendChild(svg("polyline", { points: coords.join(" "), class: "line" }));
    points.forEach(function (p) {
      var ms = S.parseTime(p.at);
      var dot = svg("circle", { cx: X(ms).toFixed(1), cy: Y(p.battery).toFixed(1), r: p.current ? 3.5 : 2.5,
                                class: "dot" + (p.current ? " current" : "") });
      dot.setAttribute("data-battery", p.battery);
      dot.appendChild(svg("title", {}, t("fl.chartPoint", { time: when(p.at), value: num(p.battery) })));
      root.appendChild(dot);
    });
    box.appendChild(root);
  }

  // ---- start ---------------------------------------------------------------------------------

  function onLanguage() {
    render();
    if (state.selected && !state.detail) drawHistory();
  }

  function start() {
    els = {
      main: $("fleet"), rows: $("rows"), empty: $("empty"), count: $("count"), states: $("f-states"),
      grid: $("f-grid"), q: $("f-q"), form: $("filters"), csv: $("csv"), refresh: $("refresh"),
      updated: $("updated"), forbidden: $("forbidden"), forbiddenText: $("forbidden-text"), error: $("fl-error"),
      detail: $("detail"), detailTitle: $("detail-title"), detailClose: $("detail-close"),
      detailStates: $("detail-states"), detailFields: $("detail-fields"), detailOrders: $("detail-orders"),
      chart: $("detail-chart")
    };
    I18N.load();
    readUrl();
    renderStatic();
    renderStates();
    S.bindHeader({ onLanguage: onLanguage });
    els.form.addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
    els.grid.addEventListener("change", load);
    els.refresh.addEventListener("click", load);
    els.q.addEventListener("input", function () { writeUrl(); renderRows(); });
    els.detailClose.addEventListener("click", closeDetail);
    S.api("/api/auth/me").then(function (r) {
      if (!r.ok || !r.data) return;
      state.me = r.data;
      if (!els.forbidden.hidden) forbidden();
      renderStatic();
    });
    load();
    setInterval(function () { if (els.forbidden.hidden) load(); }, REFRESH_MS);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
