/* Shewu (社物共治) on-call live board.
 *
 * Data comes only from the gateway's API (docs/api.md):
 *   - WebSocket `api/live`: a snapshot of the active orders on connect, then one message per change;
 *   - `POST api/orders/{id}/{action}` for the operator's buttons.
 * Countdowns tick locally every second from the orders' due times, corrected by the offset
 * between this browser's clock and the server's `now`.
 *
 * Safety: every piece of data (resident, address, device id, assignee, notes, error details)
 * goes into the page through textContent or attributes set from code, never as HTML. */
(function () {
  "use strict";

  var I18N = window.ShewuI18n;
  var SOUND = window.ShewuSound;
  var t = I18N.t;

  // ---- constants -------------------------------------------------------------------------

  var TERMINAL = { resolved: true, closed: true, cancelled: true };
  var PRIORITY_RANK = { P1: 0, P2: 1, P3: 2 };
  // The at-risk mark, when the server has not flagged it yet: the last third of the on-site
  // window with nobody on site (P1: 15 min window, so at risk from minute 10).
  var AT_RISK_FRACTION = 1 / 3;
  var BACKOFF_BASE_MS = 1000;
  var BACKOFF_MAX_MS = 30000;
  var WATCHDOG_MS = 45000; // the server pings every 15 s; three missed pings mean a dead link
  var CONNECT_TIMEOUT_MS = 15000;
  var FLASH_MS = 10000;
  var REMIND_MS = 30000; // repeat the alarm while a P1 is still unacknowledged
  var OPERATOR_KEY = "shewu.board.operator";

  var EMERGENCY_ACTIONS = {
    open: ["ack", "dispatch", "cancel"],
    acknowledged: ["dispatch", "arrive", "cancel"],
    dispatched: ["arrive", "cancel"],
    on_site: ["resolve", "cancel"]
  };
  var TICKET_ACTIONS = {
    "new": ["dispatch", "cancel"],
    dispatched: ["accept", "reject", "arrive", "cancel"],
    accepted: ["arrive", "cancel"],
    on_site: ["resolve", "cancel"]
  };
  // Actions that ask for more than one click; the others go straight to the server.
  var DIALOG_FIELDS = {
    dispatch: { technician: true, reason: false },
    reject: { technician: false, reason: true },
    cancel: { technician: false, reason: true },
    resolve: { technician: false, reason: false }
  };

  // Simple 24×24 icons, drawn from constant shapes (no data goes in here).
  var ICONS = {
    sos: [["path", { d: "M12 2.5a6 6 0 0 0-6 6v3.8L4 15.5v1.3h16v-1.3l-2-3.2V8.5a6 6 0 0 0-6-6z", fill: "currentColor" }],
          ["path", { d: "M9.6 19a2.5 2.5 0 0 0 4.8 0z", fill: "currentColor" }]],
    fall: [["circle", { cx: "17", cy: "4.5", r: "2.2", fill: "currentColor" }],
           ["path", { d: "M15 8l-5 6.5M10 14.5L4.5 16M10 14.5l-1.5 5.5M14 9.5l5 2M13.5 9l-4.5-2M3 22h18",
                      fill: "none", stroke: "currentColor", "stroke-width": "2.2", "stroke-linecap": "round" }]],
    leak: [["path", { d: "M12 2.5S5 10.5 5 15a7 7 0 0 0 14 0c0-4.5-7-12.5-7-12.5z", fill: "currentColor" }]],
    battery_low: [["rect", { x: "2", y: "7", width: "17", height: "10", rx: "2", fill: "none",
                             stroke: "currentColor", "stroke-width": "2" }],
                  ["rect", { x: "19.5", y: "10", width: "2.5", height: "4", rx: "1", fill: "currentColor" }],
                  ["rect", { x: "4.5", y: "9.5", width: "3.5", height: "5", fill: "currentColor" }]],
    tamper: [["path", { d: "M12 2l8 3v6c0 5-3.5 9.5-8 11-4.5-1.5-8-6-8-11V5z", fill: "none",
                        stroke: "currentColor", "stroke-width": "2", "stroke-linejoin": "round" }],
             ["path", { d: "M12 7v6M12 16v.5", fill: "none", stroke: "currentColor", "stroke-width": "2.4",
                        "stroke-linecap": "round" }]],
    unknown: [["circle", { cx: "12", cy: "12", r: "9", fill: "none", stroke: "currentColor", "stroke-width": "2" }],
              ["path", { d: "M9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.7.3-1 .9-1 1.7M12 16.5v.5", fill: "none",
                         stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round" }]]
  };

  // ---- state -----------------------------------------------------------------------------

  var state = {
    orders: new Map(),   // id -> {order, el, flashUntil, received}
    pending: new Set(),  // ids with an action request in flight
    offsetMs: 0,         // server clock minus this browser's clock
    conn: "connecting",  // connecting | live | lost
    ws: null,
    wsOpenedAt: 0,
    attempt: 0,          // failed connection attempts since the last snapshot
    retryAt: 0,
    retryTimer: null,
    lastMessageAt: 0,
    hadSnapshot: false,
    lastBeepAt: 0,
    dialog: null         // {id, action, order} while the action dialog is open
  };

  var $ = function (id) { return document.getElementById(id); };
  var els = {};

  // ---- small helpers ---------------------------------------------------------------------

  /** RFC 3339 → epoch ms (null when absent or unreadable); tolerates micro/nanoseconds. */
  function parseTime(s) {
    if (!s || typeof s !== "string") return null;
    var ms = Date.parse(s.replace(/(\.\d{3})\d+/, "$1"));
    return isNaN(ms) ? null : ms;
  }

  function serverNow() { return Date.now() + state.offsetMs; }

  function noteServerTime(nowStr) {
    var ms = parseTime(nowStr);
    if (ms !== null) state.offsetMs = ms - Date.now();
  }

  function pad2(n) { return (n < 10 ? "0" : "") + n; }

  /** Seconds → "m:ss" / "h:mm:ss". */
  function fmtDuration(sec) {
    var s = Math.max(0, sec);
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var r = Math.floor(s % 60);
    return h > 0 ? h + ":" + pad2(m) + ":" + pad2(r) : pad2(m) + ":" + pad2(r);
  }

  function fmtClock(ms) {
    var d = new Date(ms);
    return pad2(d.getHours()) + ":" + pad2(d.getMinutes()) + ":" + pad2(d.getSeconds());
  }

  function fmtDate(ms) {
    var d = new Date(ms);
    return d.getFullYear() + "-" + pad2(d.getMonth() + 1) + "-" + pad2(d.getDate());
  }

  /** Opening time: "HH:MM:SS" today, "MM-DD HH:MM" on another day. */
  function fmtOpened(ms, now) {
    if (ms === null) return t("field.none");
    if (fmtDate(ms) === fmtDate(now)) return fmtClock(ms);
    var d = new Date(ms);
    return pad2(d.getMonth() + 1) + "-" + pad2(d.getDate()) + " " + pad2(d.getHours()) + ":" + pad2(d.getMinutes());
  }

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function icon(kind) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", "icon");
    var shapes = ICONS[kind] || ICONS.unknown;
    for (var i = 0; i < shapes.length; i++) {
      var shape = document.createElementNS(ns, shapes[i][0]);
      var attrs = shapes[i][1];
      for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) shape.setAttribute(k, attrs[k]);
      svg.appendChild(shape);
    }
    return svg;
  }

  function kindLabel(o) { return I18N.tOr("kind." + o.kind, String(o.kind || t("kind.unknown"))); }
  function statusLabel(s) { return I18N.tOr("status." + s, String(s)); }
  function priorityLabel(p) { return I18N.tOr("priority." + p, String(p)); }
  function residentLabel(o) { return o.resident ? String(o.resident) : t("field.unknownResident"); }
  function orderLabel(o) { return t("order.label", { id: o.id, kind: kindLabel(o), resident: residentLabel(o) }); }

  function actionsFor(o) {
    var table = o.category === "emergency" ? EMERGENCY_ACTIONS : TICKET_ACTIONS;
    return table[o.status] || (TERMINAL[o.status] ? [] : ["cancel"]);
  }

  // ---- derived clock state ---------------------------------------------------------------

  /** Everything time-dependent about an order, at server time `now` (ms). */
  function derive(o, now) {
    var clock = o.clock || {};
    var opened = parseTime(o.opened_at);
    var due = parseTime(o.onsite_due_at);
    var ackDue = parseTime(o.ack_due_at);
    var arrived = parseTime(o.arrived_at);
    var onSite = arrived !== null || o.status === "on_site";
    var d = {
      due: due, arrived: arrived, onSite: onSite,
      onsiteRemaining: null, arrivedLate: null,
      ackRemaining: null,
      atRisk: false, breached: !!clock.breached
    };
    if (due !== null && !onSite) {
      d.onsiteRemaining = (due - now) / 1000;
      if (d.onsiteRemaining <= 0) d.breached = true;
      var mark = parseTime(o.at_risk_at); // used if the API ever sends it
      if (mark === null && opened !== null && due > opened) mark = due - (due - opened) * AT_RISK_FRACTION;
      d.atRisk = !!clock.at_risk || (mark !== null && now >= mark);
    }
    if (arrived !== null && due !== null && arrived > due) {
      d.arrivedLate = (arrived - due) / 1000;
      d.breached = true;
    }
    // Dispatching counts as the acknowledgement (tickets are dispatched, never acknowledged).
    if (ackDue !== null && !o.acknowledged_at && !o.dispatched_at && !TERMINAL[o.status]) {
      d.ackRemaining = (ackDue - now) / 1000;
    }
    // Visual level: red while late with nobody there, amber when at risk, else normal.
    d.level = !onSite && d.breached ? "breached" : !onSite && d.atRisk ? "risk" : "ok";
    return d;
  }

  function compareOrders(a, b) {
    var pa = PRIORITY_RANK[a.priority], pb = PRIORITY_RANK[b.priority];
    pa = pa === undefined ? 9 : pa;
    pb = pb === undefined ? 9 : pb;
    if (pa !== pb) return pa - pb;
    var da = parseTime(a.onsite_due_at), db = parseTime(b.onsite_due_at);
    da = da === null ? Infinity : da;
    db = db === null ? Infinity : db;
    if (da !== db) return da < db ? -1 : 1;
    var oa = parseTime(a.opened_at) || 0, ob = parseTime(b.opened_at) || 0;
    if (oa !== ob) return oa - ob;
    return (a.id || 0) - (b.id || 0);
  }

  // ---- rendering -------------------------------------------------------------------------

  function buildCard(entry) {
    var o = entry.order;
    var li = el("li", "card");
    li.dataset.orderId = String(o.id);
    li.dataset.status = String(o.status);
    li.dataset.priority = String(o.priority);
    li.classList.add("prio-" + (PRIORITY_RANK[o.priority] === undefined ? "x" : o.priority));
    li.classList.add("cat-" + (o.category === "emergency" ? "emergency" : "ticket"));
    if (entry.flashUntil > Date.now()) li.classList.add(o.priority === "P1" ? "flash" : "fresh");

    // Head: kind, priority, status, repeats, tags, id.
    var head = el("div", "card-head");
    var kind = el("span", "kind kind-" + (ICONS[o.kind] ? o.kind : "unknown"));
    kind.appendChild(icon(o.kind));
    kind.appendChild(el("span", "kind-label", kindLabel(o)));
    head.appendChild(kind);
    head.appendChild(el("span", "badge prio", priorityLabel(o.priority)));
    var status = el("span", "badge status status-" + String(o.status).replace(/[^a-z_]/g, ""), statusLabel(o.status));
    status.dataset.role = "status";
    head.appendChild(status);
    if (o.event_count > 1) {
      var rep = el("span", "badge repeats", t("tag.repeats", { count: o.event_count }));
      rep.title = t("tag.repeatsTitle", { count: o.event_count });
      rep.dataset.role = "repeats";
      if (entry.bumpUntil > Date.now()) rep.classList.add("bump");
      head.appendChild(rep);
    }
    if (o.unregistered) head.appendChild(el("span", "badge unreg", t("tag.unregistered")));
    head.appendChild(el("span", "order-id", "#" + o.id));

    // Who and where.
    var who = el("div", "who");
    var resident = el("div", "resident", residentLabel(o));
    resident.dataset.role = "resident";
    who.appendChild(resident);
    var where = el("div", "where");
    var address = el("span", "address", o.address ? o.address : t("field.none"));
    address.dataset.role = "address";
    where.appendChild(address);
    if (o.grid) {
      var grid = el("span", "grid");
      grid.appendChild(el("span", "k", t("field.grid")));
      var gv = el("span", "v", o.grid);
      gv.dataset.role = "grid";
      grid.appendChild(gv);
      where.appendChild(grid);
    }
    who.appendChild(where);

    var meta = el("dl", "meta");
    function metaItem(labelKey, value, role, cls) {
      var wrap = el("div", "meta-item" + (cls ? " " + cls : ""));
      wrap.appendChild(el("dt", null, t(labelKey)));
      var dd = el("dd", null, value);
      dd.dataset.role = role;
      wrap.appendChild(dd);
      meta.appendChild(wrap);
      return dd;
    }
    metaItem("field.device", o.device_id || t("field.none"), "device", "is-mono");
    metaItem("field.assignee", o.assignee ? o.assignee : t("field.unassigned"), "assignee", o.assignee ? "" : "is-muted");
    metaItem("field.opened", fmtOpened(parseTime(o.opened_at), serverNow()), "opened", "is-mono");
    metaItem("field.events", String(o.event_count || 1), "events", "is-mono");

    var info = el("div", "card-info");
    info.appendChild(head);
    info.appendChild(who);
    info.appendChild(meta);

    // Countdowns (texts filled by tickCard).
    var clock = el("div", "card-clock");
    entry.clockLabel = el("div", "clock-label");
    entry.countdown = el("div", "countdown mono");
    entry.countdown.dataset.role = "countdown";
    entry.riskTag = el("div", "risk-tag");
    entry.ackLine = el("div", "ack-line mono");
    entry.ackLine.dataset.role = "ack-countdown";
    clock.appendChild(entry.clockLabel);
    clock.appendChild(entry.countdown);
    clock.appendChild(entry.riskTag);
    clock.appendChild(entry.ackLine);

    // Buttons.
    var actions = el("div", "card-actions");
    var list = actionsFor(o);
    for (var i = 0; i < list.length; i++) {
      var a = list[i];
      var btn = el("button", "btn act act-" + a, t("action." + a));
      btn.type = "button";
      btn.dataset.action = a;
      btn.dataset.orderId = String(o.id);
      if (state.pending.has(o.id)) btn.disabled = true;
      actions.appendChild(btn);
    }

    li.appendChild(info);
    li.appendChild(clock);
    li.appendChild(actions);
    entry.el = li;
    tickCard(entry, serverNow());
    return li;
  }

  function setText(node, text) { if (node.textContent !== text) node.textContent = text; }

  function tickCard(entry, now) {
    var o = entry.order;
    var d = derive(o, now);
    entry.derived = d;
    var li = entry.el;
    li.classList.toggle("level-ok", d.level === "ok");
    li.classList.toggle("level-risk", d.level === "risk");
    li.classList.toggle("level-breached", d.level === "breached");
    li.classList.toggle("on-site", d.onSite);
    if (li.classList.contains("flash") && entry.flashUntil <= Date.now()) li.classList.remove("flash");
    if (li.classList.contains("fresh") && entry.flashUntil <= Date.now()) li.classList.remove("fresh");

    if (d.onSite) {
      setText(entry.clockLabel, statusLabel("on_site"));
      setText(entry.countdown, d.arrived !== null ? fmtClock(d.arrived) : "✓");
      setText(entry.riskTag, d.arrivedLate !== null ? t("clock.arrivedLate", { time: fmtDuration(d.arrivedLate) }) : "");
    } else if (d.onsiteRemaining === null) {
      setText(entry.clockLabel, t("clock.noTarget"));
      setText(entry.countdown, t("field.none"));
      setText(entry.riskTag, "");
    } else if (d.onsiteRemaining > 0) {
      setText(entry.clockLabel, t("clock.onsite"));
      setText(entry.countdown, fmtDuration(Math.ceil(d.onsiteRemaining)));
      setText(entry.riskTag, d.atRisk ? t("clock.atRisk") : "");
    } else {
      setText(entry.clockLabel, t("clock.lateLabel"));
      setText(entry.countdown, t("clock.late", { time: fmtDuration(Math.floor(-d.onsiteRemaining)) }));
      setText(entry.riskTag, "");
    }
    entry.countdown.classList.toggle("late", !d.onSite && d.onsiteRemaining !== null && d.onsiteRemaining <= 0);

    if (d.ackRemaining === null) {
      setText(entry.ackLine, "");
      entry.ackLine.hidden = true;
    } else {
      entry.ackLine.hidden = false;
      var late = d.ackRemaining <= 0;
      var ticket = o.category !== "emergency";
      setText(entry.ackLine, late
        ? t(ticket ? "clock.dispatchLate" : "clock.ackLate", { time: fmtDuration(Math.floor(-d.ackRemaining)) })
        : t(ticket ? "clock.dispatch" : "clock.ack") + " " + fmtDuration(Math.ceil(d.ackRemaining)));
      entry.ackLine.classList.toggle("late", late);
    }
  }

  function sortedEntries() {
    var list = Array.from(state.orders.values());
    list.sort(function (a, b) { return compareOrders(a.order, b.order); });
    return list;
  }

  /** Put the cards in urgency order, moving only what is out of place. */
  function reorder() {
    var list = sortedEntries();
    var container = els.orders;
    var child = container.firstElementChild;
    for (var i = 0; i < list.length; i++) {
      var node = list[i].el;
      if (child === node) {
        child = child.nextElementSibling;
      } else {
        container.insertBefore(node, child);
      }
    }
    // Anything left after the sorted cards is a card on its way out (fading): keep it last.
    updateEmpty();
  }

  function updateEmpty() {
    var has = state.orders.size > 0;
    els.empty.hidden = has;
    if (!has) {
      if (state.hadSnapshot) {
        setText(els.emptyTitle, t("empty.title"));
        setText(els.emptySub, t("empty.sub"));
      } else {
        setText(els.emptyTitle, state.conn === "lost" ? t("conn.lost") : t("loading"));
        setText(els.emptySub, "");
      }
    }
  }

  function renderAll() {
    els.orders.textContent = "";
    var list = sortedEntries();
    for (var i = 0; i < list.length; i++) els.orders.appendChild(buildCard(list[i]));
    updateEmpty();
    updateSummary();
  }

  function updateSummary() {
    var counts = { P1: 0, P2: 0, P3: 0 };
    var breached = 0;
    state.orders.forEach(function (entry) {
      if (counts[entry.order.priority] !== undefined) counts[entry.order.priority] += 1;
      if (entry.derived && entry.derived.breached) breached += 1;
    });
    setText(els.countP1, String(counts.P1));
    setText(els.countP2, String(counts.P2));
    setText(els.countP3, String(counts.P3));
    setText(els.countBreached, String(breached));
    els.sumBreached.classList.toggle("hot", breached > 0);
    els.countP1.parentNode.classList.toggle("hot", counts.P1 > 0);
    var title = t("title");
    document.title = counts.P1 > 0 ? "(" + counts.P1 + ") " + title : title;
  }

  // ---- applying server data --------------------------------------------------------------

  function upsert(order, opts) {
    var id = order.id;
    var entry = state.orders.get(id);
    var isNew = !entry;
    if (isNew) {
      entry = { order: order, el: null, flashUntil: 0, bumpUntil: 0 };
      state.orders.set(id, entry);
    }
    var prevCount = isNew ? 0 : entry.order.event_count;
    entry.order = order;
    if (opts && opts.alert && isNew) entry.flashUntil = Date.now() + FLASH_MS;
    if (!isNew && order.event_count > prevCount) entry.bumpUntil = Date.now() + 2000;
    var old = entry.el;
    var card = buildCard(entry);
    if (old && old.parentNode) old.parentNode.replaceChild(card, old);
    else els.orders.appendChild(card);
    return isNew;
  }

  function removeOrder(id) {
    var entry = state.orders.get(id);
    if (!entry) return;
    state.orders.delete(id);
    var node = entry.el;
    if (node && node.parentNode) {
      node.classList.add("leaving");
      node.dataset.leaving = "1";
      setTimeout(function () { if (node.parentNode) node.parentNode.removeChild(node); }, 600);
    }
  }

  function alertNewP1() {
    state.lastBeepAt = Date.now();
    SOUND.beep(3);
  }

  function applyOrder(order, event) {
    if (!order || order.id === undefined || order.id === null) return;
    if (order.clock && order.clock.now) noteServerTime(order.clock.now);
    if (TERMINAL[order.status]) {
      removeOrder(order.id);
    } else {
      var known = state.orders.has(order.id);
      var alert = !known && (event === "opened" || state.hadSnapshot);
      var isNew = upsert(order, { alert: alert });
      if (isNew && alert && order.priority === "P1") alertNewP1();
    }
    reorder();
    updateSummary();
  }

  function applySnapshot(msg) {
    var orders = Array.isArray(msg.orders) ? msg.orders : [];
    var incoming = new Set();
    var newP1 = false;
    for (var i = 0; i < orders.length; i++) {
      var o = orders[i];
      if (!o || o.id === undefined || TERMINAL[o.status]) continue;
      incoming.add(o.id);
      // After a reconnect, orders we had not seen are new to the operator: flash them.
      var alert = state.hadSnapshot && !state.orders.has(o.id);
      if (upsert(o, { alert: alert }) && alert && o.priority === "P1") newP1 = true;
    }
    Array.from(state.orders.keys()).forEach(function (id) {
      if (!incoming.has(id)) removeOrder(id);
    });
    state.hadSnapshot = true;
    reorder();
    updateSummary();
    if (newP1) alertNewP1();
  }

  function handleMessage(msg) {
    if (!msg || typeof msg !== "object") return;
    if (msg.now) noteServerTime(msg.now);
    if (msg.type === "snapshot") {
      state.attempt = 0;
      setConn("live");
      applySnapshot(msg);
    } else if (msg.type === "order") {
      applyOrder(msg.order, msg.event);
    }
    // "ping" only refreshes the clock offset and the watchdog.
  }

  // ---- connection ------------------------------------------------------------------------

  function liveUrl() {
    var url = new URL("api/live", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.hash = "";
    url.search = "";
    return url.href;
  }

  function connect() {
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    state.retryAt = 0;
    if (state.ws) {
      var old = state.ws;
      state.ws = null;
      try { old.close(); } catch (e) { /* ignore */ }
    }
    var ws;
    try {
      ws = new WebSocket(liveUrl());
    } catch (e) {
      scheduleReconnect();
      return;
    }
    state.ws = ws;
    state.wsOpenedAt = Date.now();
    state.lastMessageAt = Date.now();
    if (state.conn !== "lost") setConn("connecting");
    else renderConn();
    ws.onmessage = function (ev) {
      if (ws !== state.ws) return;
      state.lastMessageAt = Date.now();
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      handleMessage(msg);
    };
    ws.onclose = function () {
      if (ws !== state.ws) return;
      state.ws = null;
      scheduleReconnect();
    };
    ws.onerror = function () { /* a close event follows */ };
  }

  function scheduleReconnect() {
    clearTimeout(state.retryTimer);
    state.attempt += 1;
    var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, state.attempt - 1));
    delay = Math.round(delay * (0.8 + Math.random() * 0.4));
    state.retryAt = Date.now() + delay;
    state.retryTimer = setTimeout(connect, delay);
    setConn("lost");
  }

  function dropConnection() {
    var ws = state.ws;
    state.ws = null;
    if (ws) { try { ws.close(); } catch (e) { /* ignore */ } }
    scheduleReconnect();
  }

  function setConn(c) {
    state.conn = c;
    renderConn();
    updateEmpty();
  }

  function renderConn() {
    var c = state.conn;
    els.connState.className = "conn conn-" + c;
    setText(els.connText, t(c === "live" ? "conn.live" : c === "lost" ? "conn.lost" : "conn.connecting"));
    els.board.classList.toggle("stale", c === "lost");
    var show = c === "lost";
    els.banner.hidden = !show;
    document.body.classList.toggle("disconnected", show);
    if (show) {
      var wait = state.retryAt ? Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000)) : 0;
      setText(els.bannerText, state.retryAt && wait > 0
        ? t("conn.banner", { seconds: wait, attempt: state.attempt })
        : t("conn.bannerTrying", { attempt: state.attempt }));
    }
  }

  // ---- actions ---------------------------------------------------------------------------

  function operatorName() { return els.operator.value.trim(); }

  function requireOperator() {
    var name = operatorName();
    if (!name) {
      showMessage("error", t("error.noOperator"), "no-operator");
      els.operator.classList.add("needs-value");
      els.operator.focus();
      return null;
    }
    return name;
  }

  function detailText(status, body) {
    if (body && typeof body === "object" && body.detail !== undefined) {
      var det = body.detail;
      if (typeof det === "string") return det;
      if (Array.isArray(det)) {
        return det.map(function (x) {
          if (x && typeof x === "object") {
            var loc = Array.isArray(x.loc) ? x.loc.filter(function (p) { return p !== "body"; }).join(".") : "";
            return (loc ? loc + ": " : "") + (x.msg || JSON.stringify(x));
          }
          return String(x);
        }).join("; ");
      }
      return JSON.stringify(det);
    }
    if (typeof body === "string" && body.trim()) return body.trim().slice(0, 300);
    return t("error.http", { status: status });
  }

  function onActionClick(ev) {
    var btn = ev.target.closest("button[data-action]");
    if (!btn || btn.disabled) return;
    var id = Number(btn.dataset.orderId);
    var action = btn.dataset.action;
    var entry = state.orders.get(id);
    if (!entry) return;
    var by = requireOperator();
    if (!by) return;
    if (DIALOG_FIELDS[action]) {
      openDialog(entry.order, action);
    } else {
      sendAction(entry.order, action, { by: by });
    }
  }

  function sendAction(order, action, body) {
    var id = order.id;
    var entry = state.orders.get(id);
    var seen = entry ? entry.order : null;
    state.pending.add(id);
    setCardBusy(id, true);
    var label = t("action." + action);
    return fetch(new URL("api/orders/" + encodeURIComponent(id) + "/" + encodeURIComponent(action), window.location.href).href, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
        if (!res.ok) {
          showMessage("error", t("error.action", { action: label, id: id, detail: detailText(res.status, data) }));
          return false;
        }
        // Apply the answer unless the live feed already brought something newer.
        var now = state.orders.get(id);
        if (data && typeof data === "object" && data.id === id && (!now || now.order === seen)) {
          applyOrder(data, "updated");
        }
        showMessage("ok", t("ok.action", { action: label, id: id }));
        return true;
      });
    }, function (err) {
      showMessage("error", t("error.network", { detail: err && err.message ? err.message : String(err) }));
      return false;
    }).then(function (ok) {
      state.pending.delete(id);
      setCardBusy(id, false);
      return ok;
    });
  }

  function setCardBusy(id, busy) {
    var entry = state.orders.get(id);
    if (!entry || !entry.el) return;
    entry.el.classList.toggle("busy", busy);
    var buttons = entry.el.querySelectorAll("button[data-action]");
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = busy;
  }

  // ---- action dialog ---------------------------------------------------------------------

  function openDialog(order, action) {
    var spec = DIALOG_FIELDS[action];
    state.dialog = { id: order.id, action: action, order: order };
    setText(els.dialogTitle, t("dialog." + action, { order: orderLabel(order) }));
    els.fieldTechnician.hidden = !spec.technician;
    els.fieldReason.hidden = !spec.reason;
    els.inputTechnician.value = order.assignee || "";
    els.inputReason.value = "";
    els.inputNote.value = "";
    setText(els.dialogError, "");
    els.dialogSubmit.textContent = t("action." + action);
    els.dialogSubmit.className = "btn btn-primary act-" + action;
    if (typeof els.dialog.showModal === "function") els.dialog.showModal();
    else els.dialog.setAttribute("open", "");
    (spec.technician ? els.inputTechnician : spec.reason ? els.inputReason : els.inputNote).focus();
  }

  function closeDialog() {
    state.dialog = null;
    if (els.dialog.open) {
      if (typeof els.dialog.close === "function") els.dialog.close();
      else els.dialog.removeAttribute("open");
    }
  }

  function submitDialog(ev) {
    ev.preventDefault();
    var dlg = state.dialog;
    if (!dlg) { closeDialog(); return; }
    var spec = DIALOG_FIELDS[dlg.action];
    var by = requireOperator();
    if (!by) { closeDialog(); return; }
    var body = { by: by };
    if (spec.technician) {
      var tech = els.inputTechnician.value.trim();
      if (!tech) { setText(els.dialogError, t("dialog.required")); els.inputTechnician.focus(); return; }
      body.technician = tech;
    }
    if (spec.reason) {
      var reason = els.inputReason.value.trim();
      if (!reason) { setText(els.dialogError, t("dialog.required")); els.inputReason.focus(); return; }
      body.reason = reason;
    }
    var note = els.inputNote.value.trim();
    if (note) body.note = note;
    var entry = state.orders.get(dlg.id);
    closeDialog();
    sendAction(entry ? entry.order : dlg.order, dlg.action, body);
  }

  // ---- messages (toasts) -----------------------------------------------------------------

  function showMessage(kind, text, tag) {
    var box = el("div", "msg msg-" + kind);
    if (tag) box.dataset.tag = tag;
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.appendChild(el("span", "msg-text", text));
    var close = el("button", "msg-close", t("error.dismiss"));
    close.type = "button";
    close.addEventListener("click", function () { box.remove(); });
    box.appendChild(close);
    els.messages.appendChild(box);
    while (els.messages.children.length > 5) els.messages.removeChild(els.messages.firstElementChild);
    // Errors stay until dismissed (or pushed out); confirmations fade on their own.
    setTimeout(function () { box.remove(); }, kind === "error" ? 60000 : 4000);
  }

  // ---- header controls -------------------------------------------------------------------

  function applyStaticTexts() {
    document.documentElement.lang = I18N.htmlLang();
    var nodes = document.querySelectorAll("[data-i18n]");
    for (var i = 0; i < nodes.length; i++) nodes[i].textContent = t(nodes[i].getAttribute("data-i18n"));
    nodes = document.querySelectorAll("[data-i18n-placeholder]");
    for (i = 0; i < nodes.length; i++) nodes[i].placeholder = t(nodes[i].getAttribute("data-i18n-placeholder"));
    nodes = document.querySelectorAll("[data-i18n-title]");
    for (i = 0; i < nodes.length; i++) nodes[i].title = t(nodes[i].getAttribute("data-i18n-title"));
    els.langToggle.textContent = t("lang.switch");
    renderSound();
    renderConn();
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

  function switchLanguage() {
    I18N.set(I18N.lang === "zh" ? "en" : "zh");
    applyStaticTexts();
    if (state.dialog) {
      var d = state.dialog;
      setText(els.dialogTitle, t("dialog." + d.action, { order: orderLabel(d.order) }));
      els.dialogSubmit.textContent = t("action." + d.action);
    }
    renderAll();
  }

  // ---- the one-second tick ---------------------------------------------------------------

  function tick() {
    var now = serverNow();
    setText(els.clockTime, fmtClock(now));
    setText(els.clockDate, fmtDate(now));
    state.orders.forEach(function (entry) { if (entry.el) tickCard(entry, now); });
    updateSummary();

    // Watchdog: a silent socket (no ping for a while) or a hung handshake is a lost link.
    if (state.ws) {
      var silent = Date.now() - state.lastMessageAt;
      var opening = state.ws.readyState === 0 && Date.now() - state.wsOpenedAt > CONNECT_TIMEOUT_MS;
      if (opening || silent > WATCHDOG_MS) dropConnection();
    }
    if (state.conn === "lost") renderConn();

    // Keep reminding while a P1 waits for an acknowledgement.
    if (Date.now() - state.lastBeepAt >= REMIND_MS) {
      var waiting = false;
      state.orders.forEach(function (entry) {
        if (entry.order.priority === "P1" && entry.order.status === "open") waiting = true;
      });
      if (waiting) {
        state.lastBeepAt = Date.now();
        SOUND.beep(2);
      }
    }
  }

  // ---- start -----------------------------------------------------------------------------

  function init() {
    els = {
      board: $("board"), orders: $("orders"), empty: $("empty"),
      emptyTitle: $("empty-title"), emptySub: $("empty-sub"),
      countP1: $("count-P1"), countP2: $("count-P2"), countP3: $("count-P3"),
      countBreached: $("count-breached"), sumBreached: $("sum-breached"),
      connState: $("conn-state"), connText: $("conn-text"),
      clockTime: $("clock-time"), clockDate: $("clock-date"),
      banner: $("conn-banner"), bannerText: $("conn-banner-text"), retry: $("conn-retry"),
      messages: $("messages"),
      operator: $("operator"), soundToggle: $("sound-toggle"), soundText: $("sound-text"),
      langToggle: $("lang-toggle"),
      dialog: $("action-dialog"), form: $("action-form"), dialogTitle: $("dialog-title"),
      fieldTechnician: $("field-technician"), fieldReason: $("field-reason"),
      inputTechnician: $("input-technician"), inputReason: $("input-reason"), inputNote: $("input-note"),
      dialogError: $("dialog-error"), dialogSubmit: $("dialog-submit"), dialogClose: $("dialog-close")
    };

    I18N.load();
    SOUND.load();
    SOUND.onChange(renderSound);
    try { els.operator.value = window.localStorage.getItem(OPERATOR_KEY) || ""; } catch (e) { /* ignore */ }

    els.operator.addEventListener("input", function () {
      els.operator.classList.remove("needs-value");
      if (els.operator.value.trim()) {
        var stale = els.messages.querySelectorAll('[data-tag="no-operator"]');
        for (var i = 0; i < stale.length; i++) stale[i].remove();
      }
      try { window.localStorage.setItem(OPERATOR_KEY, els.operator.value.trim()); } catch (e) { /* ignore */ }
    });
    els.soundToggle.addEventListener("click", function () {
      SOUND.setEnabled(SOUND.state() !== "on");
      renderSound();
    });
    els.langToggle.addEventListener("click", switchLanguage);
    els.retry.addEventListener("click", function () { state.attempt = Math.max(0, state.attempt - 1); connect(); });
    els.orders.addEventListener("click", onActionClick);
    els.form.addEventListener("submit", submitDialog);
    els.dialogClose.addEventListener("click", closeDialog);
    els.dialog.addEventListener("close", function () { state.dialog = null; });
    window.addEventListener("online", function () { if (state.conn === "lost") connect(); });

    applyStaticTexts();
    updateEmpty();
    updateSummary();
    tick();
    setInterval(tick, 1000);
    connect();
  }

  // A small, read-only window for tests and for debugging from the console.
  window.ShewuBoard = {
    get state() { return state; },
    serverNow: serverNow,
    derive: derive,
    reconnect: connect
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
