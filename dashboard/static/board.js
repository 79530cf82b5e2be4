/* Shewu (社物共治) on-call live board.
 *
 * Data comes only from the gateway's API (docs/api.md), as the signed-in user (session cookie):
 *   - WebSocket `api/live`: a snapshot of the active orders on connect, then one message per change;
 *   - `POST api/orders/{id}/{action}` for the buttons (the server records who did it);
 *   - `GET api/orders/{id}/proposals` and `GET api/users?role=technician` for the dispatch picker;
 *   - `GET api/oncall` for the on-call panel (every 60 s and on reconnect);
 *   - residents' requests (category "request"): `GET api/requests` for what was asked (the
 *     description, preferred time, photo), and `GET api/orders?status=resolved` on every
 *     snapshot, for the resolved requests still waiting for the resident's confirmation (the
 *     live snapshot holds active orders only; these stay on the board until confirmed or closed);
 *   - `GET api/orders/{id}` for the party an order waits for (status "third_party");
 *   - `GET api/auth/me` for the user shown in the header.
 * Not signed in (401, or the live feed closing with 4401): off to login.html?next=/.
 * Countdowns tick locally every second from the orders' due times, corrected by the offset
 * between this browser's clock and the server's `now`.
 *
 * Safety: every piece of data (resident, address, device id, assignee, notes, names, error
 * details) goes into the page through textContent or attributes set from code, never as HTML. */
(function () {
  "use strict";

  var I18N = window.ShewuI18n;
  var SOUND = window.ShewuSound;
  var S = window.Shewu;
  var t = I18N.t;
  var parseTime = S.parseTime;
  var fmtDuration = S.fmtDuration;
  var fmtClock = S.fmtClock;
  var fmtDate = S.fmtDate;
  var el = S.el;
  var setText = S.setText;

  // ---- constants -------------------------------------------------------------------------

  var TERMINAL = S.TERMINAL;
  var PRIORITY_RANK = S.PRIORITY_RANK;
  var KNOWN_KINDS = S.KNOWN_KINDS;
  var CATEGORY_TAGS = S.CATEGORY_CLASSES; // orders with a category tag (and colour) on their card
  var AT_RISK_FRACTION = S.AT_RISK_FRACTION;
  var FLASH_MS = 10000;
  var REMIND_MS = 30000; // repeat the alarm while a P1 is still unacknowledged
  var ONCALL_EVERY_MS = 60000;
  var BOARD_ROLES = { admin: true, dispatcher: true, grid_worker: true };

  // What the office (dispatcher, admin) can do from each status. Accepting, rejecting and
  // "on my way" are the technician's (tech.html); "dispatch" on an assigned order reassigns it.
  var EMERGENCY_ACTIONS = {
    open: ["ack", "dispatch", "cancel"],
    acknowledged: ["dispatch", "arrive", "cancel"],
    dispatched: ["arrive", "dispatch", "cancel"],
    accepted: ["arrive", "dispatch", "cancel"],
    en_route: ["arrive", "cancel"],
    on_site: ["resolve", "cancel"]
  };
  var TICKET_ACTIONS = {
    "new": ["dispatch", "cancel"],
    dispatched: ["arrive", "dispatch", "cancel"],
    accepted: ["arrive", "dispatch", "cancel"],
    en_route: ["arrive", "cancel"],
    on_site: ["resolve", "cancel"]
  };
  // Residents' requests: a ticket that may wait for a third party, and that stays on the board
  // once resolved until the resident confirms it (or the office closes it).
  var REQUEST_ACTIONS = {
    "new": ["dispatch", "cancel"],
    dispatched: ["arrive", "dispatch", "cancel"],
    accepted: ["arrive", "dispatch", "cancel"],
    en_route: ["arrive", "cancel"],
    on_site: ["resolve", "third_party", "cancel"],
    third_party: ["resume", "resolve", "cancel"],
    resolved: ["close"]
  };
  // Care visits: generated already assigned (to the grid worker); done, or missed with a reason.
  var CARE_ACTIONS = {
    "new": ["dispatch", "miss", "cancel"],
    dispatched: ["arrive", "dispatch", "miss", "cancel"],
    accepted: ["arrive", "dispatch", "miss", "cancel"],
    en_route: ["arrive", "miss", "cancel"],
    on_site: ["resolve", "miss", "cancel"]
  };
  var ACTIONS_BY_CATEGORY = { emergency: EMERGENCY_ACTIONS, request: REQUEST_ACTIONS, care: CARE_ACTIONS };
  // Actions that ask for more than one click; the others go straight to the server.
  // reason: "reason" (why), "party" (who is to deal with it); hint: a line under the title.
  var DIALOG_FIELDS = {
    dispatch: { technician: true, reason: false },
    cancel: { technician: false, reason: "reason" },
    resolve: { technician: false, reason: false },
    miss: { technician: false, reason: "reason", placeholder: "dialog.missPlaceholder" },
    third_party: { technician: false, reason: "party", placeholder: "dialog.partyPlaceholder" },
    close: { technician: false, reason: false, hint: "dialog.closeHint" }
  };

  // ---- state -----------------------------------------------------------------------------

  var state = {
    orders: new Map(),   // id -> {order, el, flashUntil, bumpUntil, derived, ...}
    pending: new Set(),  // ids with an action request in flight
    offsetMs: 0,         // server clock minus this browser's clock
    conn: "connecting",  // connecting | live | lost | forbidden
    live: null,          // Shewu.Live
    hadSnapshot: false,
    lastBeepAt: 0,
    me: null,            // {name, display_name, role}
    people: new Map(),   // user name -> {display_name, status, load, ...} (technicians)
    oncall: null,        // the last /api/oncall answer
    oncallError: null,   // text of the last failure, or null
    oncallTimer: null,
    refreshing: new Set(), // order ids being re-read after an escalation
    workers: new Map(),  // grid workers by name (care visits are theirs)
    requests: new Map(), // order id -> the residents' filings on it (GET api/requests)
    requestsAt: 0,
    requestsTimer: null,
    requestsLoading: false,
    requestsAgain: false,
    parties: new Map(),  // order id -> {stamp, party} for orders waiting for a third party
    gone: new Set(),     // ids the live feed took off the board (a late read must not bring them back)
    dialog: null         // {id, action, order, candidates} while the action dialog is open
  };

  var $ = function (id) { return document.getElementById(id); };
  var els = {};

  // ---- small helpers ---------------------------------------------------------------------

  function serverNow() { return Date.now() + state.offsetMs; }

  function noteServerTime(nowStr) {
    var ms = parseTime(nowStr);
    if (ms !== null) state.offsetMs = ms - Date.now();
  }

  function fmtOpened(ms, now) { return S.fmtWhen(ms, now); }

  function kindLabel(o) { return I18N.tOr("kind." + o.kind, String(o.kind || t("kind.unknown"))); }
  function statusLabel(s) { return I18N.tOr("status." + s, String(s)); }
  function priorityLabel(p) { return I18N.tOr("priority." + p, String(p)); }
  var roleLabel = S.roleLabel;
  function stepLabel(s) { return I18N.tOr("step." + s, String(s)); }
  function residentLabel(o) { return o.resident ? String(o.resident) : t("field.unknownResident"); }
  function orderLabel(o) { return t("order.label", { id: o.id, kind: kindLabel(o), resident: residentLabel(o) }); }

  /** A user name as people know it: "李师傅 (li)" when the display name differs. */
  function personLabel(name) {
    var p = state.people.get(name) || state.workers.get(name);
    if (p && p.display_name && p.display_name !== name) return p.display_name + " (" + name + ")";
    return String(name);
  }

  function canAct() { return !!(state.me && S.OFFICE_ROLES[state.me.role]); }

  /** Does this order leave the board? Over, or resolved (except residents' requests, which
   * wait on the board for the resident's confirmation). */
  function offBoard(o) {
    return TERMINAL[o.status] === true && !(o.status === "resolved" && o.category === "request");
  }

  function awaitingConfirmation(o) { return o.category === "request" && o.status === "resolved"; }

  function actionsFor(o) {
    if (!canAct()) return [];
    var table = ACTIONS_BY_CATEGORY[o.category] || TICKET_ACTIONS;
    return table[o.status] || (TERMINAL[o.status] ? [] : ["cancel"]);
  }

  function actionLabel(action, o) {
    return t(action === "dispatch" && o && o.assignee ? "action.redispatch" : "action." + action);
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
      var mark = parseTime(o.at_risk_at);
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
    var wa = awaitingConfirmation(a) ? 1 : 0, wb = awaitingConfirmation(b) ? 1 : 0;
    if (wa !== wb) return wa - wb; // done and waiting for the resident: after everything still to do
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

  /** The card's outer element, its data attributes and classes. */
  function cardShell(entry) {
    var o = entry.order;
    var li = el("li", "card");
    li.dataset.orderId = String(o.id);
    li.dataset.status = String(o.status);
    li.dataset.priority = String(o.priority);
    li.dataset.category = String(o.category || "");
    li.classList.add("prio-" + (PRIORITY_RANK[o.priority] === undefined ? "x" : o.priority));
    if (CATEGORY_TAGS[o.category]) li.classList.add("cat-" + o.category);
    if (awaitingConfirmation(o)) li.classList.add("awaiting");
    if (entry.flashUntil > Date.now()) li.classList.add("flash");
    return li;
  }

  /** Head: kind, category, priority, status, repeats, tags, id. */
  function cardHead(entry) {
    var o = entry.order;
    var head = el("div", "card-head");
    var kindClass = KNOWN_KINDS[o.kind] ? o.kind : CATEGORY_TAGS[o.category] ? o.category : "unknown";
    var kind = el("span", "kind kind-" + kindClass);
    kind.appendChild(S.iconFor ? S.iconFor(o.kind) : S.icon(o.kind));
    kind.appendChild(el("span", "kind-label", kindLabel(o)));
    head.appendChild(kind);
    if (CATEGORY_TAGS[o.category]) {
      var cat = el("span", "badge cat cat-tag-" + o.category, I18N.tOr("category." + o.category, String(o.category)));
      cat.dataset.role = "category";
      head.appendChild(cat);
    }
    head.appendChild(el("span", "badge prio", priorityLabel(o.priority)));
    var status = el("span", "badge status status-" + String(o.status).replace(/[^a-z_]/g, ""),
                    awaitingConfirmation(o) ? t("status.awaitingConfirm") : statusLabel(o.status));
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
    return head;
  }

  /** Who and where: the resident, the address and the grid. */
  function cardWho(o) {
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
    return who;
  }

  /** The facts: device, assignee, opened, events, and the third party an order waits for. */
  function cardMeta(entry) {
    var o = entry.order;
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
    if (o.device_id || !CATEGORY_TAGS[o.category]) metaItem("field.device", o.device_id || t("field.none"), "device", "is-mono");
    var assignee = metaItem("field.assignee", o.assignee ? personLabel(o.assignee) : t("field.unassigned"), "assignee",
                            o.assignee ? "" : "is-muted");
    if (o.assignee) assignee.dataset.name = String(o.assignee);
    metaItem("field.opened", fmtOpened(parseTime(o.opened_at), serverNow()), "opened", "is-mono");
    metaItem("field.events", String(o.event_count || 1), "events", "is-mono");
    if (o.status === "third_party") {
      entry.partyEl = metaItem("field.party", partyText(o), "party", "is-party");
      loadParty(entry);
    } else {
      entry.partyEl = null;
    }
    return meta;
  }

  /** What the resident asked for (residents' requests only): filled from GET api/requests. */
  function cardRequest(entry) {
    entry.requestEl = null;
    if (entry.order.category !== "request") return null;
    entry.requestEl = el("div", "request-info");
    entry.requestEl.dataset.role = "request";
    renderRequestInfo(entry);
    return entry.requestEl;
  }

  /** The escalation ladder: the step reached, and the next one with its time (ticking). */
  function cardLadder(entry) {
    var ladder = el("div", "ladder");
    ladder.dataset.role = "ladder";
    ladder.appendChild(el("span", "ladder-label", t("ladder.label")));
    var lad = entry.order.ladder || {};
    entry.ladderCurrent = el("span", "ladder-current");
    entry.ladderCurrent.dataset.role = "ladder-current";
    if (lad.current && lad.current.step) {
      entry.ladderCurrent.dataset.step = String(lad.current.step);
      entry.ladderCurrent.textContent = t("ladder.current", { step: stepLabel(lad.current.step) });
      if (lad.current.breach) entry.ladderCurrent.classList.add("breach");
    } else {
      entry.ladderCurrent.hidden = true;
    }
    ladder.appendChild(entry.ladderCurrent);
    entry.ladderNext = el("span", "ladder-next");
    entry.ladderNext.dataset.role = "ladder-next";
    if (lad.next && lad.next.step) entry.ladderNext.dataset.step = String(lad.next.step);
    else entry.ladderNext.hidden = true;
    ladder.appendChild(entry.ladderNext);
    ladder.hidden = !(lad.current && lad.current.step) && !(lad.next && lad.next.step);
    return ladder;
  }

  /** Countdowns (texts filled by tickCard). */
  function cardClock(entry) {
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
    return clock;
  }

  /** Buttons (office roles only); null when there is nothing to do. */
  function cardActions(o) {
    var list = actionsFor(o);
    if (!list.length) return null;
    var actions = el("div", "card-actions");
    for (var i = 0; i < list.length; i++) {
      var a = list[i];
      var btn = el("button", "btn act act-" + a, actionLabel(a, o));
      btn.type = "button";
      btn.dataset.action = a;
      btn.dataset.orderId = String(o.id);
      if (state.pending.has(o.id)) btn.disabled = true;
      actions.appendChild(btn);
    }
    return actions;
  }

  function buildCard(entry) {
    var li = cardShell(entry);
    var info = el("div", "card-info");
    info.appendChild(cardHead(entry));
    info.appendChild(cardWho(entry.order));
    info.appendChild(cardMeta(entry));
    var request = cardRequest(entry);
    if (request) info.appendChild(request);
    info.appendChild(cardLadder(entry));
    li.appendChild(info);
    li.appendChild(cardClock(entry));
    var actions = cardActions(entry.order);
    if (actions) li.appendChild(actions);
    entry.el = li;
    tickCard(entry, serverNow());
    return li;
  }

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

    var resolveDue = parseTime(o.resolve_due_at);
    var resolveLate = false;
    if (awaitingConfirmation(o)) {
      var resolvedAt = parseTime(o.resolved_at);
      setText(entry.clockLabel, t("clock.resolvedAt"));
      setText(entry.countdown, resolvedAt !== null ? S.fmtWhen(resolvedAt, now) : "✓");
      setText(entry.riskTag, t("clock.awaitConfirm"));
    } else if (o.status === "third_party" && resolveDue !== null) {
      // Waiting for a third party: the resolution clock runs on.
      var resolveLeft = (resolveDue - now) / 1000;
      resolveLate = resolveLeft <= 0;
      setText(entry.clockLabel, t(resolveLate ? "clock.resolveLate" : "clock.resolve"));
      setText(entry.countdown, resolveLate ? t("clock.late", { time: fmtDuration(Math.floor(-resolveLeft)) })
                                           : fmtDuration(Math.ceil(resolveLeft)));
      setText(entry.riskTag, statusLabel("third_party"));
    } else if (d.onSite) {
      setText(entry.clockLabel, statusLabel("on_site"));
      setText(entry.countdown, d.arrived !== null ? fmtClock(d.arrived) : "✓");
      setText(entry.riskTag, d.arrivedLate !== null ? t("clock.arrivedLate", { time: fmtDuration(d.arrivedLate) }) : "");
    } else if (d.onsiteRemaining === null) {
      setText(entry.clockLabel, t("clock.noTarget"));
      setText(entry.countdown, t("field.none"));
      setText(entry.riskTag, "");
    } else if (d.onsiteRemaining > 0) {
      setText(entry.clockLabel, t(o.category === "care" ? "clock.dueBy" : "clock.onsite"));
      setText(entry.countdown, fmtDuration(Math.ceil(d.onsiteRemaining)));
      setText(entry.riskTag, d.atRisk ? t("clock.atRisk") : "");
    } else {
      setText(entry.clockLabel, t("clock.lateLabel"));
      setText(entry.countdown, t("clock.late", { time: fmtDuration(Math.floor(-d.onsiteRemaining)) }));
      setText(entry.riskTag, "");
    }
    entry.countdown.classList.toggle("late", resolveLate ||
      (!d.onSite && d.onsiteRemaining !== null && d.onsiteRemaining <= 0));

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

    var next = o.ladder && o.ladder.next;
    if (next && next.step && entry.ladderNext) {
      var at = parseTime(next.due_at);
      var text = t("ladder.next", { step: stepLabel(next.step), time: at === null ? t("field.none") : fmtClock(at) });
      if (at !== null) {
        var left = (at - now) / 1000;
        text += left > 0 ? t("ladder.nextIn", { time: fmtDuration(Math.ceil(left)) }) : t("ladder.nextDue");
        entry.ladderNext.classList.toggle("soon", left <= 60);
      }
      setText(entry.ladderNext, text);
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
    els.empty.hidden = has || state.conn === "forbidden";
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
      if (awaitingConfirmation(entry.order)) return; // done; only the resident's word is missing
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

  // ---- the signed-in user ----------------------------------------------------------------

  function setMe(me) {
    if (!me || !me.role) return;
    var before = state.me ? state.me.role : null;
    state.me = {
      name: String(me.name || ""),
      display_name: me.display_name || (state.me && state.me.name === me.name ? state.me.display_name : "") || "",
      role: String(me.role)
    };
    if (state.me.role === "technician") {
      // The board is the office's; a technician's orders are on their own page.
      window.location.replace("/tech.html");
      return;
    }
    if (!BOARD_ROLES[state.me.role]) {
      showForbidden();
      return;
    }
    renderMe();
    if (before !== state.me.role) {
      renderAll();
      if (canAct()) {
        loadPeople();
        loadWorkers();
      }
    }
  }

  function renderMe() {
    var me = state.me;
    els.user.hidden = !me;
    if (!me) return;
    S.renderHeader(me);
    els.user.title = me.name;
  }

  function showForbidden() {
    if (state.live) state.live.stop();
    state.conn = "forbidden";
    renderConn();
    els.forbidden.hidden = false;
    var role = state.me ? roleLabel(state.me.role) : "";
    setText(els.forbiddenText, t("auth.forbidden", { role: role }));
    renderForbiddenLink();
    els.orders.textContent = "";
    state.orders.clear();
    updateEmpty();
    updateSummary();
    renderMe();
  }

  /** A resident who came to the board: their page is the requests page. */
  function renderForbiddenLink() {
    var link = document.getElementById("forbidden-link");
    var resident = !!(state.me && state.me.role === "resident");
    if (!resident) { if (link) link.hidden = true; return; }
    if (!link) {
      link = el("a", "forbidden-link");
      link.id = "forbidden-link";
      link.href = "/request.html";
      els.forbidden.appendChild(link);
    }
    link.hidden = false;
    setText(link, t("auth.goRequest"));
  }

  /** Grid workers by name: care visits are sent to them (the picker of a care visit). */
  function loadWorkers() {
    return S.api("/api/users?role=grid_worker").then(function (r) {
      if (!r.ok || !Array.isArray(r.data)) return r;
      state.workers = new Map();
      r.data.forEach(function (u) { if (u && u.name) state.workers.set(String(u.name), u); });
      refreshAssignees();
      return r;
    });
  }

  /** Technicians by name (display names on the cards, the picker's list). */
  function loadPeople() {
    return S.api("/api/users?role=technician").then(function (r) {
      if (!r.ok || !Array.isArray(r.data)) return r;
      state.people = new Map();
      r.data.forEach(function (u) { if (u && u.name) state.people.set(String(u.name), u); });
      refreshAssignees();
      return r;
    });
  }

  function refreshAssignees() {
    state.orders.forEach(function (entry) {
      var o = entry.order;
      if (!o.assignee || !entry.el) return;
      var dd = entry.el.querySelector("[data-role=assignee]");
      if (dd) setText(dd, personLabel(o.assignee));
    });
  }

  // ---- on-call panel ---------------------------------------------------------------------

  function loadOncall() {
    clearTimeout(state.oncallTimer);
    state.oncallTimer = setTimeout(loadOncall, ONCALL_EVERY_MS);
    return S.api("/api/oncall").then(function (r) {
      if (r.ok && r.data && typeof r.data === "object") {
        state.oncall = r.data;
        state.oncallError = null;
        if (r.data.now) noteServerTime(r.data.now);
      } else if (r.status !== 401) {
        state.oncall = null;
        state.oncallError = r.detail || t("error.http", { status: r.status });
      }
      renderOncall();
    });
  }

  /** "HH:MM" on the community's wall clock (the rota's time zone), else this browser's. A shift
   * that ends at midnight ends at "24:00", as the rota writes it. */
  function rotaTime(ms, tz, isEnd) {
    var text = null;
    if (tz) {
      try {
        text = new Intl.DateTimeFormat("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
          .format(new Date(ms));
      } catch (e) { text = null; } // an unknown zone: fall back to local time
    }
    if (!text) text = S.fmtHm(ms);
    return isEnd && text === "00:00" ? "24:00" : text;
  }

  function oncallPerson(p, role) {
    var li = el("li", "oncall-person");
    li.dataset.role = role;
    var name = p && (p.display_name || p.user) ? String(p.display_name || p.user) : t("field.none");
    var who = el("span", "oncall-name", name);
    if (p && p.user) who.dataset.user = String(p.user);
    li.appendChild(who);
    if (p && p.phone) li.appendChild(el("span", "oncall-phone mono", String(p.phone)));
    var end = p ? parseTime(p.end) : null;
    if (end !== null) {
      var tz = state.oncall && typeof state.oncall.time_zone === "string" ? state.oncall.time_zone : "";
      li.appendChild(el("span", "oncall-until", t("oncall.until", { time: rotaTime(end, tz, true) })));
    }
    return li;
  }

  function oncallGroup(labelKey, people, role, emptyKey, warn) {
    var group = el("div", "oncall-group");
    group.dataset.group = role;
    group.appendChild(el("span", "oncall-key", t(labelKey)));
    if (people.length) {
      var ul = el("ul", "oncall-people");
      for (var i = 0; i < people.length; i++) ul.appendChild(oncallPerson(people[i], role));
      group.appendChild(ul);
    } else {
      var none = el("span", "oncall-none" + (warn ? " warn" : ""), t(emptyKey));
      none.dataset.role = role + "-none";
      group.appendChild(none);
    }
    return group;
  }

  function renderOncall() {
    var body = els.oncallBody;
    body.textContent = "";
    var data = state.oncall;
    if (!data) {
      var loading = state.oncallError === null;
      els.oncall.dataset.state = loading ? "loading" : "unavailable";
      var msg = el("span", "oncall-none", loading ? t("oncall.loading") : t("oncall.unavailable"));
      if (!loading) msg.title = state.oncallError;
      msg.dataset.role = loading ? "oncall-loading" : "oncall-unavailable";
      body.appendChild(msg);
      return;
    }
    var dispatchers = Array.isArray(data.dispatchers) ? data.dispatchers : [];
    var leaders = Array.isArray(data.leaders) ? data.leaders : [];
    var missing = !!data.leader_missing || leaders.length === 0;
    els.oncall.dataset.state = dispatchers.length || leaders.length ? "rota" : "empty";
    els.oncall.classList.toggle("leader-missing", missing);
    body.appendChild(oncallGroup("oncall.dispatchers", dispatchers, "dispatcher", "oncall.none", true));
    body.appendChild(oncallGroup("oncall.leaders", leaders, "leader", "oncall.leaderMissing", true));
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
    if (offBoard(order)) {
      noteGone(order.id);
      removeOrder(order.id);
    } else {
      state.gone.delete(order.id);
      var known = state.orders.get(order.id);
      var alert = !known && (event === "opened" || state.hadSnapshot);
      if (order.category === "request" && (!known || known.order.event_count !== order.event_count)) {
        loadRequests(); // a new request, or another filing joined it: read what was asked
      }
      var isNew = upsert(order, { alert: alert && !awaitingConfirmation(order) });
      if (isNew && alert && order.priority === "P1") alertNewP1();
    }
    reorder();
    updateSummary();
  }

  function noteGone(id) {
    state.gone.add(id);
    if (state.gone.size > 2000) state.gone.delete(state.gone.values().next().value);
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
      // Resolved requests are not in the snapshot (active orders only): loadAwaiting() checks them.
      if (!incoming.has(id) && !awaitingConfirmation(state.orders.get(id).order)) removeOrder(id);
    });
    state.hadSnapshot = true;
    reorder();
    updateSummary();
    if (newP1) alertNewP1();
    loadAwaiting();
    loadRequests();
  }

  /** The resolved requests waiting for the resident's confirmation (not in the live snapshot). */
  function loadAwaiting() {
    return S.api("/api/orders?status=resolved&limit=1000").then(function (r) {
      if (!r.ok || !Array.isArray(r.data) || state.conn === "forbidden") return;
      var waiting = new Set();
      r.data.forEach(function (o) {
        if (!o || o.id === undefined || !awaitingConfirmation(o)) return;
        waiting.add(o.id);
        var known = state.orders.get(o.id);
        // The live feed is newer than this read: never bring back what it took off, nor
        // overwrite what it brought since.
        if (state.gone.has(o.id) || (known && !awaitingConfirmation(known.order))) return;
        upsert(o, { alert: false });
      });
      state.orders.forEach(function (entry, id) {
        if (awaitingConfirmation(entry.order) && !waiting.has(id)) removeOrder(id);
      });
      reorder();
      updateSummary();
    });
  }

  // ---- residents' requests: what was asked ---------------------------------------------

  /** Read GET api/requests (debounced; one read at a time, another after it if asked meanwhile). */
  function loadRequests() {
    if (state.requestsLoading) { state.requestsAgain = true; return; }
    clearTimeout(state.requestsTimer);
    state.requestsTimer = setTimeout(function () {
      state.requestsLoading = true;
      S.api("/api/requests?limit=500").then(function (r) {
        state.requestsLoading = false;
        if (r.ok && Array.isArray(r.data)) {
          var byOrder = new Map();
          r.data.forEach(function (q) {
            if (!q || q.order_id === undefined || q.order_id === null) return;
            if (!byOrder.has(q.order_id)) byOrder.set(q.order_id, []);
            byOrder.get(q.order_id).push(q);
          });
          state.requests = byOrder;
          state.requestsAt = Date.now();
          state.orders.forEach(function (entry) { if (entry.requestEl) renderRequestInfo(entry); });
        }
        if (state.requestsAgain) {
          state.requestsAgain = false;
          loadRequests();
        }
      });
    }, 150);
  }

  /** The resident's words, preferred time and photo on a request's card. */
  function renderRequestInfo(entry) {
    var box = entry.requestEl;
    if (!box) return;
    box.textContent = "";
    var filings = state.requests.get(entry.order.id) || [];
    if (!filings.length) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    // Oldest first: the request, then what was added to it.
    var list = filings.slice().sort(function (a, b) { return (a.id || 0) - (b.id || 0); });
    var first = list[0];
    var text = el("p", "request-text");
    text.dataset.role = "request-text";
    text.appendChild(el("span", "k", t("field.request")));
    text.appendChild(el("span", "v", String(first.description || "")));
    box.appendChild(text);
    for (var i = 1; i < list.length && i < 4; i++) {
      var more = el("p", "request-text more");
      more.appendChild(el("span", "k", "+"));
      more.appendChild(el("span", "v", String(list[i].description || "")));
      box.appendChild(more);
    }
    var facts = el("div", "request-facts");
    var preferred = list.map(function (q) { return q.preferred_time; }).filter(Boolean);
    if (preferred.length) {
      var pt = el("span", "request-fact");
      pt.appendChild(el("span", "k", t("field.preferred")));
      var pv = el("span", "v", String(preferred[preferred.length - 1]));
      pv.dataset.role = "preferred";
      pt.appendChild(pv);
      facts.appendChild(pt);
    }
    var behalf = list.filter(function (q) { return q.on_behalf && q.filed_by; })[0];
    if (behalf) { // filed by a grid worker (or the office) for the resident: who
      var fb = el("span", "request-fact");
      fb.appendChild(el("span", "k", t("field.filedBy")));
      fb.appendChild(el("span", "v", personLabel(String(behalf.filed_by))));
      facts.appendChild(fb);
      facts.appendChild(el("span", "badge behalf", t("tag.onBehalf")));
    }
    box.appendChild(facts);
    var photos = list.filter(function (q) { return typeof q.photo === "string" && /^[0-9a-f]{32}\.(jpg|png|webp)$/.test(q.photo); });
    if (photos.length) {
      var strip = el("div", "request-photos");
      photos.slice(0, 4).forEach(function (q) {
        var a = el("a", "request-photo");
        a.href = "/api/requests/photos/" + encodeURIComponent(q.photo);
        a.target = "_blank";
        a.rel = "noopener";
        a.title = t("field.photo");
        var img = el("img");
        img.src = a.href;
        img.alt = t("field.photo");
        img.loading = "lazy";
        a.appendChild(img);
        strip.appendChild(a);
      });
      box.appendChild(strip);
    }
  }

  // ---- third parties -------------------------------------------------------------------

  function partyText(o) {
    var p = state.parties.get(o.id);
    return p && p.party ? p.party : t("field.none");
  }

  /** The party an order waits for: the last "third_party" entry of its timeline. */
  function loadParty(entry) {
    var o = entry.order;
    var stamp = String(o.status) + "|" + (o.event_count || 0) + "|" + (o.arrived_at || "");
    var known = state.parties.get(o.id);
    if (known && known.stamp === stamp) return;
    state.parties.set(o.id, { stamp: stamp, party: known ? known.party : null });
    S.api("/api/orders/" + encodeURIComponent(o.id)).then(function (r) {
      if (!r.ok || !r.data || !Array.isArray(r.data.timeline)) return;
      var party = null;
      r.data.timeline.forEach(function (e) {
        if (e && e.action === "third_party") party = (e.data && e.data.party) || e.note || party;
      });
      var mark = state.parties.get(o.id);
      if (mark) mark.party = party;
      var now = state.orders.get(o.id);
      if (now && now.partyEl) setText(now.partyEl, partyText(now.order));
    });
  }

  /** An escalation step fired: the order's ladder moved on; read the order again. */
  function refreshOrder(id) {
    if (!state.orders.has(id) || state.refreshing.has(id)) return;
    state.refreshing.add(id);
    var seen = state.orders.get(id).order;
    S.api("/api/orders/" + encodeURIComponent(id)).then(function (r) {
      state.refreshing.delete(id);
      var now = state.orders.get(id);
      if (r.ok && r.data && r.data.id === id && now && now.order === seen) applyOrder(r.data, "updated");
    });
  }

  function handleMessage(msg) {
    if (msg.now) noteServerTime(msg.now);
    if (msg.type === "snapshot") {
      var reconnect = state.hadSnapshot;
      if (msg.me) setMe(msg.me);
      if (state.conn === "forbidden") return;
      applySnapshot(msg);
      if (reconnect) loadOncall();
    } else if (msg.type === "order") {
      applyOrder(msg.order, msg.event);
    } else if (msg.type === "escalation") {
      refreshOrder(msg.order_id);
    }
    // "ping" only refreshes the clock offset and the watchdog.
  }

  // ---- connection ------------------------------------------------------------------------

  function onConnState(c) {
    state.conn = c;
    renderConn();
    updateEmpty();
  }

  function renderConn() {
    var c = state.conn;
    els.connState.className = "conn conn-" + (c === "forbidden" ? "lost" : c);
    setText(els.connText, t(c === "live" ? "conn.live" : c === "connecting" ? "conn.connecting" : "conn.lost"));
    els.board.classList.toggle("stale", c === "lost");
    var show = c === "lost";
    els.banner.hidden = !show;
    document.body.classList.toggle("disconnected", show);
    if (show && state.live) {
      var live = state.live;
      var wait = live.retryAt ? Math.max(0, Math.ceil((live.retryAt - Date.now()) / 1000)) : 0;
      setText(els.bannerText, live.retryAt && wait > 0
        ? t("conn.banner", { seconds: wait, attempt: live.attempt })
        : t("conn.bannerTrying", { attempt: Math.max(1, live.attempt) }));
    }
  }

  // ---- actions ---------------------------------------------------------------------------

  function onActionClick(ev) {
    var btn = ev.target.closest("button[data-action]");
    if (!btn || btn.disabled) return;
    var id = Number(btn.dataset.orderId);
    var action = btn.dataset.action;
    var entry = state.orders.get(id);
    if (!entry) return;
    if (DIALOG_FIELDS[action]) {
      openDialog(entry.order, action);
    } else {
      sendAction(entry.order, action, {});
    }
  }

  function sendAction(order, action, body) {
    var id = order.id;
    var entry = state.orders.get(id);
    var seen = entry ? entry.order : null;
    state.pending.add(id);
    setCardBusy(id, true);
    var label = actionLabel(action, order);
    var path = "/api/orders/" + encodeURIComponent(id) + "/" + encodeURIComponent(action);
    return S.api(path, { method: "POST", body: body }).then(function (r) {
      if (!r.ok) {
        if (r.status === 0) showMessage("error", r.detail);
        else if (r.status !== 401) showMessage("error", t("error.action", { action: label, id: id, detail: r.detail }));
        return false;
      }
      // Apply the answer unless the live feed already brought something newer.
      var data = r.data;
      var now = state.orders.get(id);
      if (data && typeof data === "object" && data.id === id && (!now || now.order === seen)) {
        applyOrder(data, "updated");
      }
      showMessage("ok", t("ok.action", { action: label, id: id }));
      return true;
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

  function dialogTitle(d) {
    var key = d.action === "dispatch" && d.order.assignee ? "dialog.redispatch"
      : d.action === "close" ? "dialog.closeOrder" : "dialog." + d.action; // "dialog.close" is the Back button
    return t(key, { order: orderLabel(d.order) });
  }

  /** The reason field's label, placeholder and the hint, for the dialog's action. */
  function dialogFieldTexts(action) {
    var spec = DIALOG_FIELDS[action];
    var label = els.fieldReason.querySelector("span");
    if (label) setText(label, t(spec.reason === "party" ? "dialog.party" : "dialog.reason"));
    els.inputReason.placeholder = t(spec.placeholder || "dialog.reasonPlaceholder");
    els.dialogHint.hidden = !spec.hint;
    setText(els.dialogHint, spec.hint ? t(spec.hint) : "");
  }

  function openDialog(order, action) {
    var spec = DIALOG_FIELDS[action];
    state.dialog = { id: order.id, action: action, order: order, candidates: null, error: null };
    setText(els.dialogTitle, dialogTitle(state.dialog));
    els.fieldTechnician.hidden = !spec.technician;
    els.fieldReason.hidden = !spec.reason;
    dialogFieldTexts(action);
    els.inputReason.value = "";
    els.inputNote.value = "";
    setText(els.dialogError, "");
    els.dialogSubmit.textContent = actionLabel(action, order);
    els.dialogSubmit.className = "btn btn-primary act-" + action;
    if (typeof els.dialog.showModal === "function") els.dialog.showModal();
    else els.dialog.setAttribute("open", "");
    if (spec.technician) {
      loadCandidates(state.dialog);
      renderPicker();
    }
    (spec.reason ? els.inputReason : spec.technician ? els.picker : els.inputNote).focus();
  }

  /** The picker's list: proposals first (best first), then every other technician. */
  function loadCandidates(dlg) {
    var id = dlg.id;
    var care = dlg.order.category === "care"; // care visits go to grid workers too
    Promise.all([
      S.api("/api/orders/" + encodeURIComponent(id) + "/proposals"),
      loadPeople(),
      care ? loadWorkers() : Promise.resolve(null)
    ]).then(function (results) {
      if (state.dialog !== dlg) return;
      var props = results[0], users = results[1];
      if (!users.ok && !props.ok) {
        dlg.error = users.status === 0 ? users.detail : t("picker.error", { detail: users.detail });
        dlg.candidates = [];
        renderPicker();
        return;
      }
      var list = [];
      var seen = {};
      if (props.ok && Array.isArray(props.data)) {
        props.data.forEach(function (p) {
          if (!p || !p.name || seen[p.name]) return;
          seen[p.name] = true;
          list.push({ name: String(p.name), proposed: true, status: p.status, load: p.load, nearness: p.nearness });
        });
      }
      dlg.proposalsLoaded = props.ok;
      var others = [];
      state.people.forEach(function (u, name) {
        if (seen[name] || u.active === false) return;
        others.push({ name: name, proposed: false, status: u.status, load: u.load });
      });
      if (care) {
        state.workers.forEach(function (u, name) {
          if (seen[name] || u.active === false) return;
          seen[name] = true;
          others.push({ name: name, proposed: false, status: u.status, load: u.load, worker: true });
        });
      }
      var statusRank = { available: 0, busy: 1, off_duty: 2 };
      others.sort(function (a, b) {
        var sa = statusRank[a.status] === undefined ? 3 : statusRank[a.status];
        var sb = statusRank[b.status] === undefined ? 3 : statusRank[b.status];
        if (sa !== sb) return sa - sb;
        if ((a.load || 0) !== (b.load || 0)) return (a.load || 0) - (b.load || 0);
        return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
      });
      dlg.candidates = list.concat(others);
      if (!users.ok) dlg.error = t("picker.error", { detail: users.detail });
      renderPicker();
    });
  }

  function pickerOption(c, dlg, checkedName) {
    var label = el("label", "pick" + (c.proposed ? " proposed" : "") + (c.status === "off_duty" ? " off-duty" : ""));
    label.dataset.name = c.name;
    var input = el("input");
    input.type = "radio";
    input.name = "technician";
    input.value = c.name;
    input.checked = c.name === checkedName;
    label.appendChild(input);
    var main = el("span", "pick-main");
    var p = state.people.get(c.name) || state.workers.get(c.name);
    main.appendChild(el("span", "pick-name", p && p.display_name ? p.display_name : c.name));
    if (p && p.display_name && p.display_name !== c.name) main.appendChild(el("span", "pick-login mono", c.name));
    label.appendChild(main);
    var tags = el("span", "pick-tags");
    if (c.proposed) tags.appendChild(el("span", "tag tag-proposed", t("picker.proposed")));
    if (dlg.order.assignee === c.name) tags.appendChild(el("span", "tag tag-current", t("picker.current")));
    if (c.worker) tags.appendChild(el("span", "tag tag-role", roleLabel("grid_worker")));
    if (c.status) {
      var st = el("span", "tag tag-status status-" + String(c.status).replace(/[^a-z_]/g, ""),
                  I18N.tOr("techStatus." + c.status, String(c.status)));
      tags.appendChild(st);
    }
    if (c.load !== undefined && c.load !== null) tags.appendChild(el("span", "tag tag-load", t("picker.load", { count: c.load })));
    if (c.nearness) tags.appendChild(el("span", "tag tag-near", I18N.tOr("near." + c.nearness, String(c.nearness))));
    label.appendChild(tags);
    return label;
  }

  function renderPicker() {
    var dlg = state.dialog;
    var box = els.picker;
    var keep = box.querySelector("input[name=technician]:checked");
    box.textContent = "";
    if (!dlg) return;
    if (dlg.candidates === null) {
      box.appendChild(el("p", "picker-note", t("picker.loading")));
      return;
    }
    if (dlg.error) box.appendChild(el("p", "picker-note error", dlg.error));
    var proposed = dlg.candidates.filter(function (c) { return c.proposed; });
    var others = dlg.candidates.filter(function (c) { return !c.proposed; });
    // Pre-select the best proposal that is not the one already sent.
    var checked = keep ? keep.value : null;
    if (!checked) {
      for (var i = 0; i < proposed.length; i++) {
        if (proposed[i].name !== dlg.order.assignee) { checked = proposed[i].name; break; }
      }
    }
    box.appendChild(el("h3", "picker-heading", t("picker.proposedHeading")));
    if (proposed.length) {
      var pl = el("div", "picker-group");
      pl.dataset.group = "proposed";
      proposed.forEach(function (c) { pl.appendChild(pickerOption(c, dlg, checked)); });
      box.appendChild(pl);
    } else {
      box.appendChild(el("p", "picker-note", t("picker.noProposals")));
    }
    box.appendChild(el("h3", "picker-heading", t("picker.othersHeading")));
    if (others.length) {
      var ol = el("div", "picker-group");
      ol.dataset.group = "others";
      others.forEach(function (c) { ol.appendChild(pickerOption(c, dlg, checked)); });
      box.appendChild(ol);
    } else if (!proposed.length) {
      box.appendChild(el("p", "picker-note", t("picker.noTechnicians")));
    }
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
    var body = {};
    if (spec.technician) {
      var picked = els.picker.querySelector("input[name=technician]:checked");
      if (!picked) { setText(els.dialogError, t("picker.required")); els.picker.focus(); return; }
      body.technician = picked.value;
    }
    if (spec.reason) {
      var reason = els.inputReason.value.trim();
      if (!reason) { setText(els.dialogError, t("dialog.required")); els.inputReason.focus(); return; }
      body.reason = reason;
    }
    var note = els.inputNote.value.trim();
    if (note) body.note = note;
    var entry = state.orders.get(dlg.id);
    var order = entry ? entry.order : dlg.order;
    closeDialog();
    sendAction(order, dlg.action, body);
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
    S.applyStaticTexts();
    S.renderHeader(state.me);
    renderSound();
    renderConn();
    renderMe();
    renderOncall();
    if (state.conn === "forbidden") {
      setText(els.forbiddenText, t("auth.forbidden", { role: state.me ? roleLabel(state.me.role) : "" }));
      renderForbiddenLink();
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

  function onLanguage() {
    applyStaticTexts();
    if (state.dialog) {
      var d = state.dialog;
      setText(els.dialogTitle, dialogTitle(d));
      dialogFieldTexts(d.action);
      els.dialogSubmit.textContent = actionLabel(d.action, d.order);
      if (DIALOG_FIELDS[d.action].technician) renderPicker();
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
      user: $("user"), soundToggle: $("sound-toggle"), soundText: $("sound-text"),
      oncall: $("oncall"), oncallBody: $("oncall-body"),
      forbidden: $("forbidden"), forbiddenText: $("forbidden-text"),
      dialog: $("action-dialog"), form: $("action-form"), dialogTitle: $("dialog-title"),
      fieldTechnician: $("field-technician"), picker: $("picker"), fieldReason: $("field-reason"),
      inputReason: $("input-reason"), inputNote: $("input-note"),
      dialogError: $("dialog-error"), dialogSubmit: $("dialog-submit"), dialogClose: $("dialog-close")
    };
    // A line under the dialog's title for actions that need a word of warning (close).
    els.dialogHint = el("p", "dialog-hint");
    els.dialogHint.id = "dialog-hint";
    els.dialogHint.hidden = true;
    els.dialogTitle.parentNode.insertBefore(els.dialogHint, els.dialogTitle.nextSibling);

    I18N.load();
    SOUND.load();
    SOUND.onChange(renderSound);

    els.soundToggle.addEventListener("click", function () {
      SOUND.setEnabled(SOUND.state() !== "on");
      renderSound();
    });
    S.bindHeader({
      onLanguage: onLanguage,
      beforeSignOut: function () { if (state.live) state.live.stop(); }
    });
    els.retry.addEventListener("click", function () { if (state.live) state.live.retryNow(); });
    els.orders.addEventListener("click", onActionClick);
    els.form.addEventListener("submit", submitDialog);
    els.dialogClose.addEventListener("click", closeDialog);
    els.dialog.addEventListener("close", function () { state.dialog = null; });
    els.picker.tabIndex = -1;
    els.picker.addEventListener("change", function () { setText(els.dialogError, ""); });
    window.addEventListener("online", function () { if (state.conn === "lost" && state.live) state.live.connect(); });

    applyStaticTexts();
    updateEmpty();
    updateSummary();
    tick();
    setInterval(tick, 1000);

    state.live = new S.Live({
      allowedRoles: BOARD_ROLES,
      onState: onConnState,
      onMessage: handleMessage,
      onForbidden: function () {
        S.api("/api/auth/me").then(function (r) {
          if (r.ok && r.data) state.me = { name: r.data.name, display_name: r.data.display_name, role: r.data.role };
          if (state.me && state.me.role === "technician") window.location.replace("/tech.html");
          else showForbidden();
        });
      }
    });
    state.live.connect();
    S.api("/api/auth/me").then(function (r) { if (r.ok && r.data) setMe(r.data); });
    loadOncall();
  }

  // A small, read-only window for tests and for debugging from the console.
  window.ShewuBoard = {
    get state() { return state; },
    serverNow: serverNow,
    derive: derive,
    reconnect: function () { if (state.live) state.live.connect(); }
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
