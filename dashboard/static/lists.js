/* Shewu: the three lists (需求清单、资源清单、服务清单).
 *
 *   - GET api/lists/{needs|resources|services}?from=&to=&grid=&category=&kind=&status=&role=&skill=&lang=
 *     (gateway/services/lists.py says what each holds); the table is drawn from the answer's columns
 *     and rows, as they are: the CSV and XLSX links ask for the very same rows (format=csv|xlsx),
 *     so an export holds exactly what the page shows. The words in the rows are in the page's
 *     language, so switching language loads the list again.
 *   - The list and its filters are kept in this page's URL (lists.html?list=services&grid=G1).
 * Every text from the server goes in through textContent, never as HTML. Depends on i18n/ and
 * common.js.
 */
(function () {
  "use strict";

  var I18N = window.ShewuI18n;
  var S = window.Shewu;
  var t = I18N.t;
  var el = S.el;
  var DEFAULT_TZ = S.DEFAULT_TZ;
  var LISTS = ["needs", "resources", "services"];

  // Filter choices (gateway/services/lists.py and gateway/domain/requests.py). A kind is named as
  // the board names it (kind.*), or as the list's rows name it where those words differ (lst.kind.*).
  var KINDS = {
    alarms: ["sos", "fall", "leak", "battery_low", "tamper", "fire", "gas", "co", "intrusion", "alarm", "unknown_alarm",
             "trouble", "offline", "power_lost", "wellbeing"],
    requests: ["repair_plumbing", "repair_electrical", "repair_appliance", "repair_door_lock", "mediation",
               "elderly_care", "cleaning", "other"],
    care: ["weekly_visit", "monthly_activity", "quarterly_clinic", "yearly_survey"]
  };
  var CATEGORIES = ["emergency", "repair", "maintenance", "wellbeing", "request", "care"];
  var STATUSES = {
    needs: ["open", "acknowledged", "new", "dispatched", "accepted", "en_route", "on_site", "third_party", "resolved",
            "closed", "cancelled", "missed"],
    services: ["resolved", "closed"],
    resources: ["available", "busy", "off_duty"]
  };
  var ROLES = ["admin", "dispatcher", "technician", "grid_worker"];
  var SKILLS = ["plumbing", "electrical", "appliances", "locks", "elderly_care", "devices"];
  var FIELDS = ["from", "to", "grid", "category", "kind", "status", "role", "skill"];
  var PER_LIST = { category: ["needs", "services"], kind: ["needs", "services"], role: ["resources"],
                   skill: ["resources"] };

  var state = { me: null, list: "needs", body: null, grids: {}, seq: 0, forbidden: false };
  var els = {};

  function $(id) { return document.getElementById(id); }

  // ---- time ----------------------------------------------------------------------------------

  function tz() { return (state.body && state.body.period && state.body.period.time_zone) || DEFAULT_TZ; }

  function localDate(ms) {
    try {
      var out = {};
      new Intl.DateTimeFormat("en-GB", { timeZone: tz(), year: "numeric", month: "2-digit", day: "2-digit" })
        .formatToParts(new Date(ms)).forEach(function (p) { out[p.type] = p.value; });
      return out.year + "-" + out.month + "-" + out.day;
    } catch (e) {
      return S.fmtDate(ms);
    }
  }

  // ---- filters -------------------------------------------------------------------------------

  function option(select, value, label) {
    var o = el("option", null, label);
    o.value = value;
    select.appendChild(o);
    return o;
  }

  function fillSelect(select, codes, labelOf, selected) {
    select.textContent = "";
    option(select, "", t("lst.all"));
    codes.forEach(function (code) { option(select, code, labelOf(code)); });
    select.value = selected || "";
    if (select.value !== (selected || "")) select.value = "";
  }

  function kindName(code) { return I18N.tOr("lst.kind." + code, t("kind." + code)); }

  function fillKinds(selected) {
    var select = els.kind;
    select.textContent = "";
    option(select, "", t("lst.all"));
    [["alarms", KINDS.alarms], ["requests", KINDS.requests], ["care", KINDS.care]].forEach(function (g) {
      var group = document.createElement("optgroup");
      group.label = t("lst.group." + g[0]);
      g[1].forEach(function (k) { option(group, k, kindName(k)); });
      select.appendChild(group);
    });
    select.value = selected || "";
    if (select.value !== (selected || "")) select.value = "";
  }

  function fillFilters(values) {
    var v = values || currentValues();
    fillSelect(els.category, CATEGORIES, function (c) { return t("lst.cat." + c); }, v.category);
    fillKinds(v.kind);
    fillSelect(els.status, STATUSES[state.list], function (s) { return t("lst.st." + s); }, v.status);
    fillSelect(els.role, ROLES, function (r) { return I18N.tOr("role." + r, r); }, v.role);
    fillSelect(els.skill, SKILLS, function (s) { return t("lst.skill." + s); }, v.skill);
    var labels = document.querySelectorAll("[data-for]");
    for (var i = 0; i < labels.length; i++) {
      labels[i].hidden = labels[i].getAttribute("data-for").split(" ").indexOf(state.list) < 0;
    }
    els.grids.textContent = "";
    Object.keys(state.grids).sort().forEach(function (g) { if (g) option(els.grids, g, g); });
  }

  function currentValues() {
    return { from: els.from.value, to: els.to.value, grid: els.grid.value.trim(), category: els.category.value,
             kind: els.kind.value, status: els.status.value, role: els.role.value, skill: els.skill.value };
  }

  function applies(field) { return !PER_LIST[field] || PER_LIST[field].indexOf(state.list) >= 0; }

  /** The list's query (without lang and format), from the filters that apply to this list. */
  function query() {
    var v = currentValues();
    var q = new URLSearchParams();
    FIELDS.forEach(function (f) {
      if (!v[f] || !applies(f)) return;
      if ((f === "from" || f === "to") && !/^\d{4}-\d{2}-\d{2}$/.test(v[f])) return;
      q.set(f, v[f]);
    });
    return q;
  }

  function readUrl() {
    var q = new URLSearchParams(window.location.search);
    state.list = LISTS.indexOf(q.get("list")) >= 0 ? q.get("list") : "needs";
    var values = {};
    FIELDS.forEach(function (f) { values[f] = q.get(f) || ""; });
    els.from.value = values.from;
    els.to.value = values.to;
    els.grid.value = values.grid;
    if (values.grid) state.grids[values.grid] = true;
    fillFilters(values);
  }

  function apiUrl(format) {
    var q = query();
    q.set("lang", I18N.lang === "en" ? "en" : "zh");
    if (format) q.set("format", format);
    return "/api/lists/" + state.list + "?" + q.toString();
  }

  // ---- loading -------------------------------------------------------------------------------

  function load() {
    var seq = ++state.seq;
    var page = query();
    page.set("list", state.list);
    try { window.history.replaceState(null, "", window.location.pathname + "?" + page.toString()); } catch (e) { /* ignore */ }
    els.csv.href = apiUrl("csv");
    els.xlsx.href = apiUrl("xlsx");
    els.main.setAttribute("aria-busy", "true");
    els.main.classList.add("stale");
    S.api(apiUrl("")).then(function (r) {
      if (seq !== state.seq) return;
      els.main.setAttribute("aria-busy", "false");
      els.main.classList.remove("stale");
      if (r.status === 401) return; // on the way to the sign-in page
      state.forbidden = r.status === 403;
      if (state.forbidden) { state.body = null; render(); return; }
      if (!r.ok || !r.data || typeof r.data !== "object") {
        showError(t("lst.error", { detail: r.detail || S.detailText(r.status, r.data) }));
        return;
      }
      showError("");
      state.body = r.data;
      (r.data.rows || []).forEach(function (row) { if (row.grid) state.grids[row.grid] = true; });
      if (!els.from.value && r.data.period) els.from.value = localDate(S.parseTime(r.data.period.from));
      if (!els.to.value && r.data.period) els.to.value = localDate(S.parseTime(r.data.period.to) - 1);
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
    document.title = t("lst.title");
    S.renderHeader(state.me);
    LISTS.forEach(function (name) {
      var tab = $("tab-" + name);
      var on = name === state.list;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      tab.classList.toggle("active", on);
      tab.tabIndex = on ? 0 : -1;
    });
    fillFilters();
    S.setText(els.hint, t("lst.hint." + state.list));
    els.forbidden.hidden = !state.forbidden;
    els.panel.hidden = state.forbidden;
    els.hint.hidden = state.forbidden;
    if (state.forbidden) {
      var role = state.me ? I18N.tOr("role." + state.me.role, String(state.me.role)) : "?";
      S.setText(els.forbiddenText, t("lst.forbidden", { role: role, list: t("lst." + state.list) }));
      els.box.textContent = "";
      S.setText(els.info, "");
      return;
    }
    var body = state.body;
    if (!body) return;
    var info = t("lst.info", {
      from: body.period ? localDate(S.parseTime(body.period.from)) : "",
      to: body.period ? localDate(S.parseTime(body.period.to) - 1) : "",
      tz: tz(), count: body.count
    });
    if (body.truncated) info += " · " + t("lst.truncated", { count: body.count });
    S.setText(els.info, info);
    drawTable(body);
  }

  /** A cell as the server gave it; a number with the column's decimals (JSON drops a ".0"). */
  function cellText(v, c) {
    if (v === null || v === undefined) return "";
    if (typeof v === "number" && typeof c.decimals === "number") return v.toFixed(c.decimals);
    return String(v);
  }

  /** The table: the answer's columns and rows, every cell as the server gave it. */
  function drawTable(body) {
    var box = els.box;
    box.textContent = "";
    var rows = body.rows || [];
    if (!rows.length) { box.appendChild(el("p", "rep-empty", t("lst.empty"))); return; }
    var lang = I18N.lang === "en" ? "en" : "zh";
    var cols = body.columns || [];
    var tbl = el("table", "rep-table lst-table");
    tbl.dataset.list = body.list;
    var tr = el("tr");
    cols.forEach(function (c) {
      var th = el("th", c.num ? "num" : null, c[lang] || c.key);
      th.scope = "col";
      th.dataset.key = c.key;
      tr.appendChild(th);
    });
    var thead = el("thead");
    thead.appendChild(tr);
    tbl.appendChild(thead);
    var tbody = el("tbody");
    rows.forEach(function (row) {
      var r = el("tr");
      var codes = row.codes || {};
      if (codes.status) r.dataset.status = codes.status;
      if (codes.outcome) r.dataset.outcome = codes.outcome;
      cols.forEach(function (c) {
        var td = el("td", c.num ? "num mono" : null, cellText(row[c.key], c));
        td.dataset.key = c.key;
        r.appendChild(td);
      });
      tbody.appendChild(r);
    });
    tbl.appendChild(tbody);
    box.appendChild(tbl);
  }

  // ---- start ---------------------------------------------------------------------------------

  function choose(list) {
    if (list === state.list) return;
    state.list = list;
    state.body = null;
    state.forbidden = false;
    els.box.textContent = "";
    render();
    load();
  }

  function start() {
    els = {
      main: $("main"), panel: $("panel"), info: $("lst-info"), hint: $("lst-hint"), box: $("table-box"), form: $("filters"),
      from: $("f-from"), to: $("f-to"), grid: $("f-grid"), grids: $("grids"), category: $("f-category"),
      kind: $("f-kind"), status: $("f-status"), role: $("f-role"), skill: $("f-skill"), csv: $("export-csv"),
      xlsx: $("export-xlsx"), forbidden: $("forbidden"), forbiddenText: $("forbidden-text"), error: $("lst-error")
    };
    I18N.load();
    readUrl();
    render();
    S.bindHeader({
      onLanguage: function () {
        render();
        load(); // the rows carry words in the page's language
      }
    });
    els.form.addEventListener("submit", function (ev) { ev.preventDefault(); load(); });
    [els.category, els.kind, els.status, els.role, els.skill].forEach(function (s) { s.addEventListener("change", load); });
    LISTS.forEach(function (name) {
      $("tab-" + name).addEventListener("click", function () { choose(name); });
    });
    document.querySelector(".lst-tabs").addEventListener("keydown", function (ev) {
      var i = LISTS.indexOf(state.list);
      if (ev.key === "ArrowRight" || ev.key === "ArrowLeft") {
        var next = LISTS[(i + (ev.key === "ArrowRight" ? 1 : LISTS.length - 1)) % LISTS.length];
        choose(next);
        $("tab-" + next).focus();
        ev.preventDefault();
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
