/* Shewu pages: what the board, the technician's page and the sign-in page share.
 *
 *   - Shewu.api(): fetch against the gateway with the session cookie; a 401 sends the page to
 *     the sign-in page (login.html?next=<this page>), every other answer comes back as
 *     {ok, status, data, detail};
 *   - Shewu.Live: the live WebSocket feed (api/live) with reconnection, backoff and a watchdog;
 *   - small formatting and DOM helpers (everything goes in through textContent or attributes
 *     set from code, never as HTML);
 *   - the constants several pages share, and the page header (language switch, who is signed in,
 *     sign-out).
 * Depends on i18n/i18n.js and the dictionaries (window.ShewuI18n). */
(function () {
  "use strict";

  var I18N = window.ShewuI18n;

  // ---- shared constants ----------------------------------------------------------------------

  /** The office roles: they act on orders from the board (gateway/domain/roles.py OFFICE). */
  var OFFICE_ROLES = { admin: true, dispatcher: true };
  /** Statuses in which an order needs nothing more from the office or the technician. */
  var TERMINAL = { resolved: true, closed: true, cancelled: true, missed: true };
  var PRIORITY_RANK = { P1: 0, P2: 1, P3: 2 };
  /** Alarm kinds with a colour of their own on a card (kind-<kind> in board.css and tech.css). */
  var KNOWN_KINDS = { sos: true, fall: true, leak: true, battery_low: true, tamper: true, fire: true, gas: true,
                      co: true, intrusion: true, alarm: true, unknown_alarm: true, trouble: true };
  /** Categories whose orders are coloured by category instead of kind (cat-<category>). */
  var CATEGORY_CLASSES = { request: true, care: true, wellbeing: true };
  // The at-risk mark, when the server has not flagged it yet: the last third of the on-site
  // window with nobody on site (P1: 15 min window, so at risk from minute 10).
  var AT_RISK_FRACTION = 1 / 3;
  /** The community's time zone when an answer does not name one (care plans, lists, reports). */
  var DEFAULT_TZ = "Asia/Shanghai";

  // ---- time ----------------------------------------------------------------------------------

  /** RFC 3339 → epoch ms (null when absent or unreadable); tolerates micro/nanoseconds. */
  function parseTime(s) {
    if (!s || typeof s !== "string") return null;
    var ms = Date.parse(s.replace(/(\.\d{3})\d+/, "$1"));
    return isNaN(ms) ? null : ms;
  }

  function pad2(n) { return (n < 10 ? "0" : "") + n; }

  /** Seconds → "mm:ss" / "h:mm:ss". */
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

  function fmtHm(ms) {
    var d = new Date(ms);
    return pad2(d.getHours()) + ":" + pad2(d.getMinutes());
  }

  function fmtDate(ms) {
    var d = new Date(ms);
    return d.getFullYear() + "-" + pad2(d.getMonth() + 1) + "-" + pad2(d.getDate());
  }

  /** "HH:MM:SS" today, "MM-DD HH:MM" on another day. */
  function fmtWhen(ms, now) {
    if (ms === null || ms === undefined) return I18N.t("field.none");
    if (fmtDate(ms) === fmtDate(now)) return fmtClock(ms);
    var d = new Date(ms);
    return pad2(d.getMonth() + 1) + "-" + pad2(d.getDate()) + " " + pad2(d.getHours()) + ":" + pad2(d.getMinutes());
  }

  // ---- DOM -----------------------------------------------------------------------------------

  function el(tag, className, text) {
    var e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function setText(node, text) { if (node && node.textContent !== text) node.textContent = text; }

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
    // Alarm panels: fire (a flame), gas and carbon monoxide (a cloud).
    fire: [["path", { d: "M12 2.5c.5 3.5 5.5 6 5.5 11a5.5 5.5 0 0 1-11 0c0-2.6 1.4-4.3 2.6-5.6.2 1.8 1 2.9 2.2 3.4C11 9 11 6 12 2.5z",
                      fill: "currentColor" }]],
    gas: [["path", { d: "M7 18.5a4 4 0 0 1-.6-8 5.5 5.5 0 0 1 10.6-1.3A4.6 4.6 0 0 1 17 18.5z", fill: "none",
                     stroke: "currentColor", "stroke-width": "2", "stroke-linejoin": "round" }]],
    unknown: [["circle", { cx: "12", cy: "12", r: "9", fill: "none", stroke: "currentColor", "stroke-width": "2" }],
              ["path", { d: "M9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.7.3-1 .9-1 1.7M12 16.5v.5", fill: "none",
                         stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round" }]],
    // Residents' requests, care visits, wellbeing checks, device upkeep (see iconFor()).
    wrench: [["path", { d: "M14.5 3.5a5 5 0 0 0-4.8 6.4L3.5 16.1a2 2 0 0 0 2.8 2.8l6.2-6.2a5 5 0 0 0 6.4-4.8l-2.9 2.9-2.6-.6-.6-2.6z",
                        fill: "currentColor" }]],
    people: [["circle", { cx: "8", cy: "8", r: "3", fill: "currentColor" }],
             ["circle", { cx: "16.5", cy: "8.5", r: "2.6", fill: "currentColor" }],
             ["path", { d: "M2.5 19a5.5 5.5 0 0 1 11 0zM14 19a4.5 4.5 0 0 1 8 0z", fill: "currentColor" }]],
    heart: [["path", { d: "M12 20.5S3.5 15 3.5 9a4.5 4.5 0 0 1 8.5-2 4.5 4.5 0 0 1 8.5 2c0 6-8.5 11.5-8.5 11.5z",
                       fill: "currentColor" }]],
    broom: [["path", { d: "M14 3l-3.5 9M6 12.5h9l2 8.5H4z", fill: "none", stroke: "currentColor", "stroke-width": "2",
                       "stroke-linejoin": "round", "stroke-linecap": "round" }]],
    home: [["path", { d: "M3 11.5L12 4l9 7.5M5.5 10v10h13V10", fill: "none", stroke: "currentColor", "stroke-width": "2",
                      "stroke-linejoin": "round", "stroke-linecap": "round" }],
           ["circle", { cx: "12", cy: "14.5", r: "2.2", fill: "currentColor" }]],
    offline: [["path", { d: "M2.5 9a14 14 0 0 1 19 0M5.5 12.5a9.5 9.5 0 0 1 13 0M9 16a4.5 4.5 0 0 1 6 0", fill: "none",
                         stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round" }],
              ["path", { d: "M4 3l16 18", fill: "none", stroke: "currentColor", "stroke-width": "2.2",
                         "stroke-linecap": "round" }]],
    power: [["path", { d: "M13 2L5 13.5h6L10 22l8-11.5h-6z", fill: "currentColor" }]]
  };

  function icon(kind) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", "icon");
    var shapes = Object.prototype.hasOwnProperty.call(ICONS, kind) ? ICONS[kind] : ICONS.unknown;
    for (var i = 0; i < shapes.length; i++) {
      var shape = document.createElementNS(ns, shapes[i][0]);
      var attrs = shapes[i][1];
      for (var k in attrs) if (Object.prototype.hasOwnProperty.call(attrs, k)) shape.setAttribute(k, attrs[k]);
      svg.appendChild(shape);
    }
    return svg;
  }

  // Order kinds with an icon of another name: residents' requests (their category codes), care
  // visits, wellbeing checks, device upkeep. Kinds not listed here use their own name.
  var KIND_ICONS = {
    repair_plumbing: "leak", repair_electrical: "power", repair_appliance: "wrench", repair_door_lock: "wrench",
    mediation: "people", elderly_care: "heart", cleaning: "broom", other: "unknown",
    weekly_visit: "heart", monthly_activity: "people", quarterly_clinic: "heart", yearly_survey: "home",
    wellbeing: "home", offline: "offline", power_lost: "power",
    co: "gas", intrusion: "tamper", alarm: "sos", unknown_alarm: "unknown", trouble: "wrench"
  };

  /** The icon for an order kind (alarm kinds, request categories, care kinds, ...). */
  function iconFor(kind) {
    return icon(Object.prototype.hasOwnProperty.call(KIND_ICONS, kind) ? KIND_ICONS[kind] : kind);
  }

  /** Put the static texts of a page in the current language: data-i18n (text),
   * data-i18n-placeholder, data-i18n-title, data-i18n-aria-label. */
  function applyStaticTexts(root) {
    var scope = root || document;
    document.documentElement.lang = I18N.htmlLang();
    var nodes = scope.querySelectorAll("[data-i18n]");
    for (var i = 0; i < nodes.length; i++) nodes[i].textContent = I18N.t(nodes[i].getAttribute("data-i18n"));
    nodes = scope.querySelectorAll("[data-i18n-placeholder]");
    for (i = 0; i < nodes.length; i++) nodes[i].placeholder = I18N.t(nodes[i].getAttribute("data-i18n-placeholder"));
    nodes = scope.querySelectorAll("[data-i18n-title]");
    for (i = 0; i < nodes.length; i++) nodes[i].title = I18N.t(nodes[i].getAttribute("data-i18n-title"));
    nodes = scope.querySelectorAll("[data-i18n-aria-label]");
    for (i = 0; i < nodes.length; i++) {
      nodes[i].setAttribute("aria-label", I18N.t(nodes[i].getAttribute("data-i18n-aria-label")));
    }
  }

  // ---- sign-in -------------------------------------------------------------------------------

  /** A "next" target we are willing to go to after signing in: a path on this site only.
   * Answers the path (with query and hash) or null. Refuses "//host", "/\host", schemes and
   * control characters; the result is re-checked against this page's origin. */
  function safeNext(next) {
    if (typeof next !== "string" || next.length === 0 || next.length > 2000) return null;
    if (next.charAt(0) !== "/") return null;
    if (next.charAt(1) === "/" || next.charAt(1) === "\\") return null;
    if (/[\u0000-\u001f\u007f\\]/.test(next)) return null;
    var url;
    try { url = new URL(next, window.location.origin); } catch (e) { return null; }
    if (url.origin !== window.location.origin) return null;
    if (/^\/login\.html$/.test(url.pathname)) return null; // never back to the sign-in page itself
    return url.pathname + url.search + url.hash;
  }

  /** Where a role lands after signing in when no (usable) next was given. */
  function homeFor(role) { return role === "technician" ? "/tech.html" : "/"; }

  function loginUrl(next) {
    var target = next === undefined ? window.location.pathname + window.location.search : next;
    var safe = safeNext(target) || "/";
    return "/login.html?next=" + encodeURIComponent(safe);
  }

  var leaving = false;

  /** Off to the sign-in page, coming back here afterwards. */
  function goLogin(next) {
    if (leaving) return;
    leaving = true;
    window.location.replace(loginUrl(next));
  }

  function signOut() {
    return fetch(new URL("/api/auth/logout", window.location.href).href, {
      method: "POST", credentials: "same-origin", headers: { "Accept": "application/json" }
    }).catch(function () { /* signed out locally anyway */ }).then(function () {
      leaving = true;
      window.location.replace("/login.html");
    });
  }

  // ---- the page header -----------------------------------------------------------------------

  /** A role in words (the code itself for a role the dictionaries do not know). */
  function roleLabel(role) { return I18N.tOr("role." + role, String(role)); }

  /** The header's texts: the language switch (#lang-toggle) and who is signed in (#user-text in
   * #user, shown once `me` is known; pages without them keep their own). */
  function renderHeader(me) {
    var toggle = document.getElementById("lang-toggle");
    if (toggle) toggle.textContent = I18N.t("lang.switch");
    var user = document.getElementById("user");
    var text = document.getElementById("user-text");
    if (me && user && text) {
      user.hidden = false;
      setText(text, I18N.t("auth.user", { name: me.display_name || me.name, role: roleLabel(me.role) }));
    }
  }

  /** The header's buttons. #lang-toggle switches the language, then opts.onLanguage() redraws the
   * page; #sign-out runs opts.beforeSignOut() (stop the live feed, the polling), then signs out. */
  function bindHeader(opts) {
    var o = opts || {};
    var toggle = document.getElementById("lang-toggle");
    if (toggle) {
      toggle.addEventListener("click", function () {
        I18N.set(I18N.lang === "zh" ? "en" : "zh");
        if (o.onLanguage) o.onLanguage();
      });
    }
    var out = document.getElementById("sign-out");
    if (out) {
      out.addEventListener("click", function () {
        if (o.beforeSignOut) o.beforeSignOut();
        out.disabled = true;
        signOut();
      });
    }
  }

  // ---- HTTP ----------------------------------------------------------------------------------

  /** The text of an API error: FastAPI's "detail" (a string or a list of field errors). */
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
    return I18N.t("error.http", { status: status });
  }

  /** fetch() an API path with the session cookie. Resolves {ok, status, data, detail}; a
   * network failure resolves {ok: false, status: 0, detail}. A 401 goes to the sign-in page
   * unless opts.noLoginRedirect. */
  function api(path, opts) {
    var o = opts || {};
    var init = { method: o.method || "GET", credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (o.body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(o.body);
    }
    return fetch(new URL(path, window.location.href).href, init).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
        if (res.status === 401 && !o.noLoginRedirect) goLogin();
        return { ok: res.ok, status: res.status, data: data, detail: res.ok ? "" : detailText(res.status, data) };
      });
    }, function (err) {
      var msg = err && err.message ? err.message : String(err);
      return { ok: false, status: 0, data: null, detail: I18N.t("error.network", { detail: msg }) };
    });
  }

  /** POST (or PUT) a raw body, e.g. a photo, with its own Content-Type; answers like api().
   * opts: {method, contentType, noLoginRedirect}. */
  function upload(path, body, opts) {
    var o = opts || {};
    var headers = { "Accept": "application/json" };
    var type = o.contentType || (body && body.type) || "application/octet-stream";
    headers["Content-Type"] = type;
    var init = { method: o.method || "POST", credentials: "same-origin", headers: headers, body: body };
    return fetch(new URL(path, window.location.href).href, init).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
        if (res.status === 401 && !o.noLoginRedirect) goLogin();
        return { ok: res.ok, status: res.status, data: data, detail: res.ok ? "" : detailText(res.status, data) };
      });
    }, function (err) {
      var msg = err && err.message ? err.message : String(err);
      return { ok: false, status: 0, data: null, detail: I18N.t("error.network", { detail: msg }) };
    });
  }

  // ---- the live feed -------------------------------------------------------------------------

  var BACKOFF_BASE_MS = 1000;
  var BACKOFF_MAX_MS = 30000;
  var WATCHDOG_MS = 45000; // the server pings every 15 s; three missed pings mean a dead link
  var CONNECT_TIMEOUT_MS = 15000;
  var CLOSE_UNAUTHORIZED = 4401;
  var CLOSE_FORBIDDEN = 4403;

  function liveUrl() {
    var url = new URL("/api/live", window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.hash = "";
    url.search = "";
    return url.href;
  }

  /** The live feed, kept connected. opts:
   *   onMessage(msg)  every parsed message (snapshot, order, escalation, ping);
   *   onState(state)  "connecting" | "live" (a snapshot arrived) | "lost" | "forbidden";
   *   onForbidden()   the signed-in role has no live feed (close 4403).
   * A close with 4401, or a handshake the server refused while /api/auth/me answers 401,
   * goes to the sign-in page. */
  function Live(opts) {
    this.opts = opts || {};
    this.ws = null;
    this.state = "connecting";
    this.attempt = 0; // failed attempts since the last snapshot
    this.retryAt = 0;
    this.retryTimer = null;
    this.openedAt = 0;
    this.lastMessageAt = 0;
    this.stopped = false;
    var self = this;
    this.watchdog = setInterval(function () { self.check(); }, 1000);
  }

  Live.prototype.setState = function (s) {
    this.state = s;
    if (this.opts.onState) this.opts.onState(s);
  };

  Live.prototype.connect = function () {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.retryAt = 0;
    if (this.ws) {
      var old = this.ws;
      this.ws = null;
      try { old.close(); } catch (e) { /* ignore */ }
    }
    var self = this;
    var ws;
    try {
      ws = new WebSocket(liveUrl());
    } catch (e) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    var opened = false;
    this.openedAt = Date.now();
    this.lastMessageAt = Date.now();
    if (this.state !== "lost") this.setState("connecting");
    ws.onopen = function () { opened = true; };
    ws.onmessage = function (ev) {
      if (ws !== self.ws) return;
      self.lastMessageAt = Date.now();
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (!msg || typeof msg !== "object") return;
      if (msg.type === "snapshot") {
        self.attempt = 0;
        self.setState("live");
      }
      if (self.opts.onMessage) self.opts.onMessage(msg);
    };
    ws.onclose = function (ev) {
      if (ws !== self.ws) return;
      self.ws = null;
      if (ev.code === CLOSE_UNAUTHORIZED) { self.stop(); goLogin(); return; }
      if (ev.code === CLOSE_FORBIDDEN) { self.forbidden(); return; }
      if (!opened) {
        // The server may refuse the handshake itself (HTTP 403), which a browser reports only
        // as code 1006: ask who we are before trying again.
        self.setState("lost");
        api("/api/auth/me").then(function (r) {
          if (self.stopped) return;
          if (r.status === 401) { self.stop(); return; } // api() is on its way to the sign-in page
          if (r.ok && r.data && self.opts.allowedRoles && !self.opts.allowedRoles[r.data.role]) {
            self.forbidden();
            return;
          }
          self.scheduleReconnect();
        });
        return;
      }
      self.scheduleReconnect();
    };
    ws.onerror = function () { /* a close event follows */ };
  };

  Live.prototype.forbidden = function () {
    this.stop();
    this.setState("forbidden");
    if (this.opts.onForbidden) this.opts.onForbidden();
  };

  Live.prototype.scheduleReconnect = function () {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.attempt += 1;
    var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * Math.pow(2, this.attempt - 1));
    delay = Math.round(delay * (0.8 + Math.random() * 0.4));
    this.retryAt = Date.now() + delay;
    var self = this;
    this.retryTimer = setTimeout(function () { self.connect(); }, delay);
    this.setState("lost");
  };

  /** Drop the current socket (dead or hung) and reconnect with backoff. */
  Live.prototype.drop = function () {
    var ws = this.ws;
    this.ws = null;
    if (ws) { try { ws.close(); } catch (e) { /* ignore */ } }
    this.scheduleReconnect();
  };

  /** Try again now (the "reconnect now" button, the browser coming back online). */
  Live.prototype.retryNow = function () {
    this.attempt = Math.max(0, this.attempt - 1);
    this.connect();
  };

  Live.prototype.check = function () {
    if (!this.ws) return;
    var silent = Date.now() - this.lastMessageAt;
    var opening = this.ws.readyState === 0 && Date.now() - this.openedAt > CONNECT_TIMEOUT_MS;
    if (opening || silent > WATCHDOG_MS) this.drop();
  };

  Live.prototype.stop = function () {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.watchdog);
    var ws = this.ws;
    this.ws = null;
    if (ws) { try { ws.close(); } catch (e) { /* ignore */ } }
  };

  window.Shewu = {
    parseTime: parseTime,
    pad2: pad2,
    fmtDuration: fmtDuration,
    fmtClock: fmtClock,
    fmtHm: fmtHm,
    fmtDate: fmtDate,
    fmtWhen: fmtWhen,
    el: el,
    setText: setText,
    icon: icon,
    iconFor: iconFor,
    applyStaticTexts: applyStaticTexts,
    OFFICE_ROLES: OFFICE_ROLES,
    TERMINAL: TERMINAL,
    PRIORITY_RANK: PRIORITY_RANK,
    KNOWN_KINDS: KNOWN_KINDS,
    CATEGORY_CLASSES: CATEGORY_CLASSES,
    AT_RISK_FRACTION: AT_RISK_FRACTION,
    DEFAULT_TZ: DEFAULT_TZ,
    roleLabel: roleLabel,
    renderHeader: renderHeader,
    bindHeader: bindHeader,
    safeNext: safeNext,
    homeFor: homeFor,
    loginUrl: loginUrl,
    goLogin: goLogin,
    signOut: signOut,
    detailText: detailText,
    api: api,
    upload: upload,
    Live: Live
  };
})();
