/* Shewu: the yearly summary per community and grid, printable (lists.css has the print styles).
 *
 *   - GET api/lists/summary?year=&lang= (gateway/services/lists.py: SUMMARY_COLUMNS and
 *     SUMMARY_DEFINITIONS): the first row is the whole community, then one row per grid. The table
 *     shows those rows turned on their side (a column per community or grid, a line per number),
 *     the cards the community's row, the chart the grids' % on target; the CSV and XLSX links give
 *     the same rows (format=csv|xlsx).
 *   - The year is kept in this page's URL (summary.html?year=2026).
 * Every text from the server goes in through textContent or setAttribute. Depends on i18n/ and
 * common.js.
 */
(function () {
  "use strict";

  var I18N = window.ShewuI18n;
  var S = window.Shewu;
  var t = I18N.t;
  var el = S.el;
  var SVG_NS = "http://www.w3.org/2000/svg";
  var YEARS_BACK = 5;

  var state = { me: null, body: null, year: null, seq: 0, forbidden: false };
  var els = {};

  function $(id) { return document.getElementById(id); }
  function lang() { return I18N.lang === "en" ? "en" : "zh"; }
  function none(v) { return v === null || v === undefined; }
  function pct(v) { return none(v) ? t("field.none") : Number(v).toFixed(1) + "%"; }
  function num(v) { return none(v) ? t("field.none") : String(v); }

  function thisYear() {
    try {
      return parseInt(new Intl.DateTimeFormat("en-GB", { timeZone: "Asia/Shanghai", year: "numeric" })
        .format(new Date()), 10);
    } catch (e) {
      return new Date().getFullYear();
    }
  }

  function fillYears() {
    var last = thisYear();
    var keep = state.year || last;
    els.year.textContent = "";
    var years = [];
    for (var y = last; y > last - YEARS_BACK; y--) years.push(y);
    if (years.indexOf(keep) < 0) years.push(keep);
    years.sort(function (a, b) { return b - a; }).forEach(function (y) {
      var o = el("option", null, String(y));
      o.value = String(y);
      els.year.appendChild(o);
    });
    els.year.value = String(keep);
  }

  function apiUrl(format) {
    var q = new URLSearchParams();
    if (state.year) q.set("year", String(state.year));
    q.set("lang", lang());
    if (format) q.set("format", format);
    return "/api/lists/summary?" + q.toString();
  }

  function load() {
    var seq = ++state.seq;
    try {
      window.history.replaceState(null, "", window.location.pathname + (state.year ? "?year=" + state.year : ""));
    } catch (e) { /* ignore */ }
    els.csv.href = apiUrl("csv");
    els.xlsx.href = apiUrl("xlsx");
    els.main.setAttribute("aria-busy", "true");
    els.main.classList.add("stale");
    S.api(apiUrl("")).then(function (r) {
      if (seq !== state.seq) return;
      els.main.setAttribute("aria-busy", "false");
      els.main.classList.remove("stale");
      if (r.status === 401) return;
      state.forbidden = r.status === 403;
      if (state.forbidden) { render(); return; }
      if (!r.ok || !r.data || typeof r.data !== "object") {
        showError(t("sum.error", { detail: r.detail || S.detailText(r.status, r.data) }));
        return;
      }
      showError("");
      state.body = r.data;
      state.year = r.data.year;
      render();
    });
  }

  function showError(text) {
    els.error.hidden = !text;
    S.setText(els.error, text);
  }

  // ---- drawing -------------------------------------------------------------------------------

  function render() {
    S.applyStaticTexts();
    document.title = t("sum.title");
    fillYears();
    S.renderHeader(state.me);
    els.forbidden.hidden = !state.forbidden;
    els.main.hidden = state.forbidden;
    if (state.forbidden) {
      var role = state.me ? I18N.tOr("role." + state.me.role, String(state.me.role)) : "?";
      S.setText(els.forbiddenText, t("sum.forbidden", { role: role }));
      return;
    }
    var body = state.body;
    if (!body) return;
    var community = body.rows && body.rows[0] ? body.rows[0] : {};
    S.setText(els.title, t("sum.heading", { community: body.community || (lang() === "en" ? t("sum.community") : ""),
                                            year: body.year }));
    var now = S.parseTime(body.now);
    S.setText(els.period, t("sum.period", { year: body.year, tz: body.period ? body.period.time_zone : "",
                                            now: now === null ? "" : S.fmtDate(now) }));
    drawCards(community);
    drawChart((body.rows || []).slice(1));
    drawTable(body);
    drawDefinitions(body.definitions || []);
  }

  function card(key, title, value, line, grade) {
    var c = el("div", "rep-card");
    c.dataset.card = key;
    if (grade !== null && grade !== undefined) c.classList.add(grade >= 90 ? "good" : grade >= 70 ? "fair" : "poor");
    c.appendChild(el("div", "rep-card-title", title));
    var v = el("div", "rep-card-value");
    v.appendChild(el("span", "mono", value));
    c.appendChild(v);
    if (line) c.appendChild(el("div", "rep-card-line", line));
    return c;
  }

  function drawCards(r) {
    var box = els.cards;
    box.textContent = "";
    box.appendChild(card("needs", t("sum.card.needs"), num(r.needs),
                         t("sum.line.needs", { requests: num(r.requests), done: num(r.services_done) })));
    box.appendChild(card("repairs", t("sum.card.repairs"), num(r.repairs_done),
                         t("sum.line.repairs", { pct: pct(r.repairs_on_target_pct) })));
    box.appendChild(card("rating", t("sum.card.rating"), none(r.avg_rating) ? t("field.none") : Number(r.avg_rating).toFixed(2),
                         t("sum.line.rating", { count: num(r.ratings) })));
    box.appendChild(card("onsite", t("sum.card.onsite"), pct(r.onsite_pct),
                         t("sum.line.onsite", { on_time: num(r.onsite_on_time), decided: num(r.onsite_decided) }),
                         r.onsite_pct));
    box.appendChild(card("emergency", t("sum.card.emergency"), pct(r.emergency_onsite_pct),
                         t("sum.line.emergency", { count: num(r.emergencies) }), r.emergency_onsite_pct));
    box.appendChild(card("care", t("sum.card.care"), pct(r.care_done_pct),
                         t("sum.line.care", { done: num(r.care_done), missed: num(r.care_missed) }), r.care_done_pct));
  }

  function svg(tag, attrs, text) {
    var n = document.createElementNS(SVG_NS, tag);
    for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) n.setAttribute(k, String(attrs[k]));
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }

  /** Two bars per grid: all orders on target, and emergencies on site within 15 minutes. */
  function drawChart(grids) {
    var box = els.chart;
    box.textContent = "";
    if (!grids.length) { box.appendChild(el("p", "rep-empty", t("sum.noGrids"))); return; }
    var W = 660, H = 260;
    var g = { l: 48, t: 38, w: 600, h: 170 };
    var root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": t("sum.chartTitle"),
                            class: "chart" });
    root.appendChild(svg("title", {}, t("sum.chartTitle")));
    for (var i = 0; i <= 4; i++) {
      var y = g.t + g.h - g.h * i / 4;
      root.appendChild(svg("line", { x1: g.l, x2: g.l + g.w, y1: y, y2: y, class: "grid" }));
      root.appendChild(svg("text", { x: g.l - 6, y: y + 4, class: "tick", "text-anchor": "end" }, (25 * i) + "%"));
    }
    var slot = g.w / grids.length;
    var bw = Math.min(40, slot * 0.35);
    var every = grids.length > 12 ? Math.ceil(grids.length / 12) : 1;
    grids.forEach(function (r, i) {
      var cx = g.l + slot * i + slot / 2;
      [["onsite_pct", "bar-alt", -1, t("sum.legendAll")], ["emergency_onsite_pct", "bar-ok", 0, t("sum.legendEmergency")]]
        .forEach(function (b) {
          var v = r[b[0]];
          var h = none(v) ? 0 : g.h * v / 100;
          var x = cx + b[2] * bw;
          var rect = svg("rect", { x: x, y: g.t + g.h - h, width: bw - 2, height: h,
                                   class: "bar " + (none(v) ? "bar-none" : b[1]) });
          rect.dataset.grid = r.grid;
          rect.dataset.key = b[0];
          rect.appendChild(svg("title", {}, r.scope + " · " + b[3] + "：" + pct(v)));
          root.appendChild(rect);
          root.appendChild(svg("text", { x: x + bw / 2 - 1, y: g.t + g.h - h - 4, class: "bar-label",
                                         "text-anchor": "middle" }, none(v) ? t("field.none") : Math.round(v) + "%"));
        });
      if (i % every === 0) {
        root.appendChild(svg("text", { x: cx, y: g.t + g.h + 16, class: "tick", "text-anchor": "middle" }, r.scope));
      }
    });
    root.appendChild(svg("line", { x1: g.l, x2: g.l + g.w, y1: g.t + g.h, y2: g.t + g.h, class: "axis" }));
    root.appendChild(svg("rect", { x: g.l, y: 6, width: 10, height: 10, class: "bar-alt" }));
    root.appendChild(svg("text", { x: g.l + 14, y: 15, class: "legend" }, t("sum.legendAll")));
    root.appendChild(svg("rect", { x: g.l + 150, y: 6, width: 10, height: 10, class: "bar-ok" }));
    root.appendChild(svg("text", { x: g.l + 164, y: 15, class: "legend" }, t("sum.legendEmergency")));
    box.appendChild(root);
  }

  /** The summary rows on their side: a column per row of the answer, a line per column of it. */
  function drawTable(body) {
    var box = els.table;
    box.textContent = "";
    var rows = body.rows || [];
    var cols = (body.columns || []).filter(function (c) { return c.key !== "scope" && c.key !== "grid"; });
    var tbl = el("table", "rep-table sum-table");
    var thead = el("thead");
    var tr = el("tr");
    tr.appendChild(el("th", null, t("sum.metric")));
    rows.forEach(function (r) {
      var th = el("th", "num", r.scope);
      th.scope = "col";
      th.dataset.grid = r.grid;
      tr.appendChild(th);
    });
    thead.appendChild(tr);
    tbl.appendChild(thead);
    var tbody = el("tbody");
    cols.forEach(function (c) {
      var line = el("tr");
      line.dataset.key = c.key;
      var th = el("th", null, c[lang()] || c.key);
      th.scope = "row";
      line.appendChild(th);
      rows.forEach(function (r) {
        var v = r[c.key];
        var text = none(v) ? "" : typeof v === "number" && typeof c.decimals === "number" ? v.toFixed(c.decimals)
                                                                                          : String(v);
        line.appendChild(el("td", "num mono", text));
      });
      tbody.appendChild(line);
    });
    tbl.appendChild(tbody);
    box.appendChild(tbl);
  }

  function drawDefinitions(defs) {
    els.defs.textContent = "";
    defs.forEach(function (d) { els.defs.appendChild(el("li", null, d[lang()] || "")); });
  }

  // ---- start ---------------------------------------------------------------------------------

  function start() {
    els = {
      main: $("main"), title: $("sum-title"), period: $("sum-period"), cards: $("cards"), chart: $("chart"),
      table: $("table"), defs: $("defs"), year: $("f-year"), print: $("print"), csv: $("export-csv"),
      xlsx: $("export-xlsx"), forbidden: $("forbidden"), forbiddenText: $("forbidden-text"), error: $("sum-error")
    };
    I18N.load();
    var q = new URLSearchParams(window.location.search);
    var year = parseInt(q.get("year") || "", 10);
    state.year = year >= 2000 && year <= 2100 ? year : null;
    render();
    els.year.addEventListener("change", function () { state.year = parseInt(els.year.value, 10); load(); });
    els.print.addEventListener("click", function () { window.print(); });
    S.bindHeader({
      onLanguage: function () {
        render();
        load(); // the rows carry words in the page's language
      }
    });
    S.api("/api/auth/me").then(function (r) {
      if (!r.ok || !r.data) return;
      state.me = r.data;
      render();
    });
    load();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
