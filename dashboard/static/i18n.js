/* Shewu on-call board: every user-visible string, one dictionary per language.
 * Values are plain text (put into the page with textContent, never as HTML).
 * "{name}" placeholders are filled by ShewuI18n.t(key, {name: value}). */
(function () {
  "use strict";

  var DICT = {
    zh: {
      "lang.name": "中文",
      "lang.switch": "EN",
      "lang.switchTitle": "Switch to English",
      "title": "社物共治 · 值班看板",
      "brand": "社物共治",
      "board": "值班看板",

      "header.operator": "值班员",
      "header.operatorPlaceholder": "输入您的姓名",
      "header.clock": "时间",
      "header.open": "未结工单",
      "header.breached": "超时",
      "sound.enable": "开启声音",
      "sound.on": "声音已开",
      "sound.blocked": "声音已开 · 点击页面任意处激活",
      "sound.titleOn": "点击关闭提示音",
      "sound.titleOff": "点击开启新 P1 告警提示音",

      "conn.connecting": "连接中…",
      "conn.live": "实时",
      "conn.lost": "连接已断开",
      "conn.banner": "与服务器的连接已断开，{seconds} 秒后重连（第 {attempt} 次）。看板显示的可能不是最新状态。",
      "conn.bannerTrying": "与服务器的连接已断开，正在重连（第 {attempt} 次）…看板显示的可能不是最新状态。",
      "conn.retryNow": "立即重连",

      "empty.title": "暂无未结工单",
      "empty.sub": "新的告警会自动出现在这里。",
      "loading": "正在加载…",

      "kind.sos": "紧急呼叫",
      "kind.fall": "跌倒",
      "kind.leak": "漏水",
      "kind.battery_low": "电量低",
      "kind.tamper": "设备被拆",
      "kind.unknown": "其他",

      "category.emergency": "紧急",
      "category.repair": "维修",
      "category.maintenance": "维护",

      "priority.P1": "P1 紧急",
      "priority.P2": "P2 较急",
      "priority.P3": "P3 一般",

      "status.open": "待确认",
      "status.acknowledged": "已确认",
      "status.dispatched": "已派单",
      "status.accepted": "已接单",
      "status.on_site": "已到场",
      "status.new": "待派单",
      "status.resolved": "已处理",
      "status.closed": "已关闭",
      "status.cancelled": "已取消",
      "status.rejected": "已拒单",

      "field.resident": "居民",
      "field.address": "地址",
      "field.grid": "网格",
      "field.device": "设备",
      "field.assignee": "处理人",
      "field.opened": "发生时间",
      "field.status": "状态",
      "field.events": "触发次数",
      "field.none": "—",
      "field.unassigned": "未指派",
      "field.unknownResident": "未登记居民",
      "tag.unregistered": "未登记设备",
      "tag.repeats": "×{count}",
      "tag.repeatsTitle": "同一告警共触发 {count} 次",

      "clock.onsite": "到场倒计时",
      "clock.late": "+{time} 超时",
      "clock.lateLabel": "到场已超时",
      "clock.onsiteSince": "{time} 到场",
      "clock.arrivedLate": "迟到 {time}",
      "clock.noTarget": "无到场时限",
      "clock.ack": "确认倒计时",
      "clock.ackLate": "确认超时 +{time}",
      "clock.dispatch": "派单倒计时",
      "clock.dispatchLate": "派单超时 +{time}",
      "clock.atRisk": "即将超时",
      "clock.breached": "已超时",

      "action.ack": "确认",
      "action.dispatch": "派单",
      "action.accept": "接单",
      "action.reject": "拒单",
      "action.arrive": "已到场",
      "action.resolve": "处理完成",
      "action.cancel": "取消",

      "dialog.dispatch": "派单：{order}",
      "dialog.reject": "拒单：{order}",
      "dialog.resolve": "处理完成：{order}",
      "dialog.cancel": "取消工单：{order}",
      "dialog.technician": "处理师傅姓名",
      "dialog.technicianPlaceholder": "例如 李师傅",
      "dialog.reason": "原因（必填）",
      "dialog.reasonPlaceholder": "例如 误报，已电话确认老人安全",
      "dialog.note": "备注（选填）",
      "dialog.submit": "提交",
      "dialog.close": "返回",
      "dialog.required": "请填写此项。",

      "error.noOperator": "请先在页面顶部填写值班员姓名。",
      "error.action": "操作失败（{action} #{id}）：{detail}",
      "error.network": "网络错误，请求未送达服务器：{detail}",
      "error.http": "HTTP {status}",
      "error.dismiss": "知道了",
      "ok.action": "{action}：#{id} 已提交",

      "order.label": "#{id} {kind} · {resident}"
    },

    en: {
      "lang.name": "English",
      "lang.switch": "中文",
      "lang.switchTitle": "切换到中文",
      "title": "Shewu on-call board",
      "brand": "Shewu",
      "board": "On-call board",

      "header.operator": "Operator",
      "header.operatorPlaceholder": "Your name",
      "header.clock": "Time",
      "header.open": "Open",
      "header.breached": "Breached",
      "sound.enable": "Enable sound",
      "sound.on": "Sound on",
      "sound.blocked": "Sound on · click anywhere to activate",
      "sound.titleOn": "Click to mute alerts",
      "sound.titleOff": "Click to play a sound on every new P1 alert",

      "conn.connecting": "Connecting…",
      "conn.live": "Live",
      "conn.lost": "Connection lost",
      "conn.banner": "Connection to the server lost. Reconnecting in {seconds} s (attempt {attempt}). The board may be out of date.",
      "conn.bannerTrying": "Connection to the server lost. Reconnecting (attempt {attempt})… The board may be out of date.",
      "conn.retryNow": "Reconnect now",

      "empty.title": "No open orders",
      "empty.sub": "New alerts appear here automatically.",
      "loading": "Loading…",

      "kind.sos": "SOS",
      "kind.fall": "Fall",
      "kind.leak": "Water leak",
      "kind.battery_low": "Low battery",
      "kind.tamper": "Tamper",
      "kind.unknown": "Other",

      "category.emergency": "Emergency",
      "category.repair": "Repair",
      "category.maintenance": "Maintenance",

      "priority.P1": "P1 urgent",
      "priority.P2": "P2 high",
      "priority.P3": "P3 normal",

      "status.open": "Open",
      "status.acknowledged": "Acknowledged",
      "status.dispatched": "Dispatched",
      "status.accepted": "Accepted",
      "status.on_site": "On site",
      "status.new": "New",
      "status.resolved": "Resolved",
      "status.closed": "Closed",
      "status.cancelled": "Cancelled",
      "status.rejected": "Rejected",

      "field.resident": "Resident",
      "field.address": "Address",
      "field.grid": "Grid",
      "field.device": "Device",
      "field.assignee": "Assignee",
      "field.opened": "Opened",
      "field.status": "Status",
      "field.events": "Events",
      "field.none": "—",
      "field.unassigned": "Unassigned",
      "field.unknownResident": "Unknown resident",
      "tag.unregistered": "Unregistered device",
      "tag.repeats": "×{count}",
      "tag.repeatsTitle": "{count} events on this alarm",

      "clock.onsite": "On site in",
      "clock.late": "+{time} late",
      "clock.lateLabel": "On-site target missed",
      "clock.onsiteSince": "On site since {time}",
      "clock.arrivedLate": "{time} late",
      "clock.noTarget": "No on-site target",
      "clock.ack": "Ack within",
      "clock.ackLate": "Ack overdue +{time}",
      "clock.dispatch": "Dispatch within",
      "clock.dispatchLate": "Dispatch overdue +{time}",
      "clock.atRisk": "At risk",
      "clock.breached": "Breached",

      "action.ack": "Acknowledge",
      "action.dispatch": "Dispatch",
      "action.accept": "Accept",
      "action.reject": "Reject",
      "action.arrive": "Arrived",
      "action.resolve": "Resolve",
      "action.cancel": "Cancel",

      "dialog.dispatch": "Dispatch: {order}",
      "dialog.reject": "Reject: {order}",
      "dialog.resolve": "Resolve: {order}",
      "dialog.cancel": "Cancel order: {order}",
      "dialog.technician": "Technician's name",
      "dialog.technicianPlaceholder": "e.g. Li",
      "dialog.reason": "Reason (required)",
      "dialog.reasonPlaceholder": "e.g. false alarm, resident called back and is fine",
      "dialog.note": "Note (optional)",
      "dialog.submit": "Submit",
      "dialog.close": "Back",
      "dialog.required": "Please fill this in.",

      "error.noOperator": "Enter the operator's name at the top of the page first.",
      "error.action": "{action} failed (#{id}): {detail}",
      "error.network": "Network error, the request did not reach the server: {detail}",
      "error.http": "HTTP {status}",
      "error.dismiss": "Dismiss",
      "ok.action": "{action}: #{id} sent",

      "order.label": "#{id} {kind} · {resident}"
    }
  };

  var LANGS = ["zh", "en"];
  var STORAGE_KEY = "shewu.board.lang";
  var current = "zh";

  function load() {
    try {
      var saved = window.localStorage.getItem(STORAGE_KEY);
      if (saved && DICT[saved]) current = saved;
    } catch (e) { /* storage unavailable: keep the default */ }
    return current;
  }

  function set(lang) {
    if (!DICT[lang]) return current;
    current = lang;
    try { window.localStorage.setItem(STORAGE_KEY, lang); } catch (e) { /* ignore */ }
    return current;
  }

  /** Translate a key; unknown keys fall back to Chinese, then to the key itself. */
  function t(key, params) {
    var s = DICT[current][key];
    if (s === undefined) s = DICT.zh[key];
    if (s === undefined) return key;
    if (params) {
      s = s.replace(/\{(\w+)\}/g, function (m, name) {
        return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : m;
      });
    }
    return s;
  }

  /** Translate a key when the dictionary has it, else return the fallback (e.g. an unknown status). */
  function tOr(key, fallback) {
    return DICT[current][key] !== undefined ? DICT[current][key] : fallback;
  }

  window.ShewuI18n = {
    DICT: DICT,
    LANGS: LANGS,
    load: load,
    set: set,
    t: t,
    tOr: tOr,
    get lang() { return current; },
    htmlLang: function () { return current === "zh" ? "zh-CN" : "en"; }
  };
})();
