/* Shewu: the three lists (需求清单、资源清单、服务清单).
 *
 *   - GET api/lists/{needs|resources|services}?from=&to=&grid=&category=&kind=&status=&role=&skill=&lang=
 *     (gateway/services/lists.py says what each holds); the table is drawn from the answer's columns
 *     and rows, as they are: the CSV and XLSX links ask for the very same rows (format=csv|xlsx),
 *     so an export holds exactly what the page shows. The words in the rows are in the page's
 *     language, so switching language loads the list again.
 *   - The list and its filters are kept in this page's URL (lists.html?list=services&grid=G1).
 * Every text from the server goes in through textContent, never as HTML. Depends on i18n.js and
 * common.js.
 */
(function () {
  "use strict";

  var I18N = window.ShewuI18n;
  var S = window.Shewu;
  var t = I18N.t;
  var el = S.el;
  var DEFAULT_TZ = "Asia/Shanghai";
  var LISTS = ["needs", "resources", "services"];

  var ADD = {
    zh: {
      "lst.title": "三张清单 · 社物共治",
      "lst.page": "三张清单",
      "lst.tabs": "清单",
      "lst.needs": "需求清单",
      "lst.resources": "资源清单",
      "lst.services": "服务清单",
      "lst.toBoard": "值班看板",
      "lst.toReports": "响应报表",
      "lst.toSummary": "年度汇总",
      "lst.from": "开始日期",
      "lst.to": "结束日期（含）",
      "lst.category": "类别",
      "lst.kind": "事项",
      "lst.role": "角色",
      "lst.skill": "技能",
      "lst.all": "全部",
      "lst.apply": "查询",
      "lst.csv": "导出 CSV",
      "lst.xlsx": "导出 Excel",
      "lst.info": "{from} 至 {to}（{tz}）· 共 {count} 行",
      "lst.truncated": "只显示前 {count} 行，请缩小时段或加筛选条件。",
      "lst.empty": "没有符合条件的记录。",
      "lst.error": "清单加载失败：{detail}",
      "lst.forbidden": "您的账号（{role}）不能查看{list}。",
      "lst.hint.needs": "每一项需求，无论来自设备告警还是居民、网格员、系统对接或关爱计划；按发生时间筛选。网格员只看本网格，维修师傅只看派给自己的。",
      "lst.hint.resources": "在岗人员的技能、状态与当前值班（按值班表）；在办工单为未结工单数，期间完成为所选时段内处理完成的工单数。",
      "lst.hint.services": "处理完成的工单：按完成时间筛选。用时（分钟）自工单开启起算，与响应报表相同：响应 = 首次确认或派单，到场 = 首次到场，处理 = 首次处理完成；评分为居民确认时所给。",
      "lst.cat.emergency": "紧急求助",
      "lst.cat.repair": "维修工单",
      "lst.cat.maintenance": "设备维护",
      "lst.cat.wellbeing": "关怀探视",
      "lst.cat.request": "居民点单",
      "lst.cat.care": "银龄关爱",
      "lst.group.alarms": "设备告警",
      "lst.group.requests": "居民点单",
      "lst.group.care": "银龄关爱",
      "lst.st.open": "待确认",
      "lst.st.acknowledged": "已确认",
      "lst.st.new": "待派单",
      "lst.st.dispatched": "已派单",
      "lst.st.accepted": "已接单",
      "lst.st.en_route": "已出发",
      "lst.st.on_site": "已到场",
      "lst.st.third_party": "等待第三方",
      "lst.st.resolved": "已处理",
      "lst.st.closed": "已完成",
      "lst.st.cancelled": "已取消",
      "lst.st.missed": "未完成",
      "lst.st.available": "空闲",
      "lst.st.busy": "忙碌",
      "lst.st.off_duty": "休息",
      "lst.skill.plumbing": "水管",
      "lst.skill.electrical": "电路",
      "lst.skill.appliances": "家电",
      "lst.skill.locks": "门锁",
      "lst.skill.elderly_care": "养老照护",
      "lst.skill.devices": "设备"
    },
    en: {
      "lst.title": "The three lists · Shewu",
      "lst.page": "The three lists",
      "lst.tabs": "Lists",
      "lst.needs": "Demand list",
      "lst.resources": "Resource list",
      "lst.services": "Service list",
      "lst.toBoard": "On-call board",
      "lst.toReports": "Response report",
      "lst.toSummary": "Yearly summary",
      "lst.from": "From",
      "lst.to": "To (inclusive)",
      "lst.category": "Category",
      "lst.kind": "What",
      "lst.role": "Role",
      "lst.skill": "Skill",
      "lst.all": "All",
      "lst.apply": "Show",
      "lst.csv": "Export CSV",
      "lst.xlsx": "Export Excel",
      "lst.info": "{from} to {to} ({tz}) · {count} rows",
      "lst.truncated": "Only the first {count} rows are shown: narrow the period or add a filter.",
      "lst.empty": "Nothing matches.",
      "lst.error": "The list could not be loaded: {detail}",
      "lst.forbidden": "This account ({role}) cannot see the {list}.",
      "lst.hint.needs": "Every need, whether a device alarm or raised by a resident, a grid worker, an integration or a care plan; filtered by when it was raised. Grid workers see their grid, technicians what is assigned to them.",
      "lst.hint.resources": "Staff on the books with skills, availability and who is on duty now (the rota); active orders are the open ones assigned, resolved in period counts the orders they resolved in the period.",
      "lst.hint.services": "Orders done, filtered by when they were resolved. Times (minutes) run from the opening, as in the response report: to acknowledge = the first acknowledgement or dispatch, to on site = the first arrival, to resolve = the first resolve; the rating is the resident's, given on confirmation.",
      "lst.cat.emergency": "Emergency",
      "lst.cat.repair": "Repair ticket",
      "lst.cat.maintenance": "Device maintenance",
      "lst.cat.wellbeing": "Wellbeing check",
      "lst.cat.request": "Resident's request",
      "lst.cat.care": "Care visit",
      "lst.group.alarms": "Device alarms",
      "lst.group.requests": "Residents' requests",
      "lst.group.care": "Care visits",
      "lst.st.open": "Open",
      "lst.st.acknowledged": "Acknowledged",
      "lst.st.new": "New",
      "lst.st.dispatched": "Dispatched",
      "lst.st.accepted": "Accepted",
      "lst.st.en_route": "On the way",
      "lst.st.on_site": "On site",
      "lst.st.third_party": "Third party",
      "lst.st.resolved": "Resolved",
      "lst.st.closed": "Done",
      "lst.st.cancelled": "Cancelled",
      "lst.st.missed": "Missed",
      "lst.st.available": "Available",
      "lst.st.busy": "Busy",
      "lst.st.off_duty": "Off duty",
      "lst.skill.plumbing": "Plumbing",
      "lst.skill.electrical": "Electrical",
      "lst.skill.appliances": "Appliances",
      "lst.skill.locks": "Locks",
      "lst.skill.elderly_care": "Elderly care",
      "lst.skill.devices": "Devices"
    }
  };
  ["zh", "en"].forEach(function (lang) {
    var dict = I18N.DICT[lang];
    var add = ADD[lang];
    for (var k in add) if (Object.prototype.hasOwnProperty.call(add, k)) dict[k] = add[k];
  });

  // Filter choices: [code, zh, en] (gateway/services/lists.py and gateway/domain/requests.py).
  var KINDS = {
    alarms: [["sos", "紧急呼叫", "SOS"], ["fall", "跌倒", "Fall"], ["leak", "漏水", "Water leak"],
             ["battery_low", "电量低", "Low battery"], ["tamper", "设备被拆", "Tamper"],
             ["fire", "火警", "Fire"], ["gas", "燃气泄漏", "Gas leak"], ["co", "一氧化碳", "Carbon monoxide"],
             ["intrusion", "入侵报警", "Intrusion"], ["alarm", "报警", "Alarm"],
             ["unknown_alarm", "未知报警", "Unknown alarm"], ["trouble", "设备故障", "Device trouble"],
             ["offline", "设备离线", "Device offline"], ["power_lost", "断电", "Power lost"],
             ["wellbeing", "长时间无活动", "No activity"]],
    requests: [["repair_plumbing", "维修·水管", "Repair: plumbing"], ["repair_electrical", "维修·电路", "Repair: electrical"],
               ["repair_appliance", "维修·家电", "Repair: appliance"], ["repair_door_lock", "维修·门锁", "Repair: door and lock"],
               ["mediation", "邻里调解", "Neighbour mediation"], ["elderly_care", "养老服务", "Elderly care"],
               ["cleaning", "保洁", "Cleaning"], ["other", "其他", "Other"]],
    care: [["weekly_visit", "每周探访", "Weekly home visit"], ["monthly_activity", "每月活动", "Monthly activity"],
           ["quarterly_clinic", "每季义诊", "Quarterly health clinic"],
           ["yearly_survey", "每年适老化评估", "Yearly home adaptation survey"]]
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

  function word(triple) { return I18N.lang === "en" ? triple[2] : triple[1]; }

  function fillKinds(selected) {
    var select = els.kind;
    select.textContent = "";
    option(select, "", t("lst.all"));
    [["alarms", KINDS.alarms], ["requests", KINDS.requests], ["care", KINDS.care]].forEach(function (g) {
      var group = document.createElement("optgroup");
      group.label = t("lst.group." + g[0]);
      g[1].forEach(function (k) { option(group, k[0], word(k)); });
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
    els.langToggle.textContent = t("lang.switch");
    if (state.me) {
      els.user.hidden = false;
      S.setText(els.userText, t("auth.user", {
        name: state.me.display_name || state.me.name,
        role: I18N.tOr("role." + state.me.role, String(state.me.role))
      }));
    }
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
      xlsx: $("export-xlsx"), forbidden: $("forbidden"), forbiddenText: $("forbidden-text"), error: $("lst-error"),
      user: $("user"), userText: $("user-text"), signOut: $("sign-out"), langToggle: $("lang-toggle")
    };
    I18N.load();
    readUrl();
    render();
    els.langToggle.addEventListener("click", function () {
      I18N.set(I18N.lang === "zh" ? "en" : "zh");
      render();
      load(); // the rows carry words in the page's language
    });
    els.signOut.addEventListener("click", function () { els.signOut.disabled = true; S.signOut(); });
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
