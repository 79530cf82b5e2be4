/* Shewu fleet page (fleet.html): pairing a new device, the way installers work (issue 9).
 *
 *   - POST api/pairing {home_id, kind}: "this home, this kind: the next new device heard is it";
 *     then GET api/pairing/{id} every second until it is paired, expired or cancelled
 *     (DELETE api/pairing/{id}). Admins only (devices.write); the section stays hidden otherwise;
 *   - GET api/devices/unregistered: devices heard but not registered, with what they last sent.
 * Every text from the server goes in through textContent, never as HTML.
 * Depends on i18n/ (with i18n/fleet.js) and common.js; loads after fleet.js. */
(function () {
  "use strict";

  var I18N = window.ShewuI18n;
  var S = window.Shewu;
  var t = I18N.t;
  var KINDS = ["sos", "fall", "leak", "smoke", "gas", "co", "door", "motion", "presence", "hub"];
  var POLL_MS = 1000;
  var HEARD_MS = 10000;

  var st = { pairing: null, message: "", heard: null, heardError: "", offset: 0, poll: null };
  var els = {};

  function $(id) { return document.getElementById(id); }
  function kindName(k) { return I18N.tOr("fl.dk." + k, String(k)); }
  function eventName(k) { return I18N.tOr("fl.lk." + k, I18N.tOr("kind." + k, String(k || ""))); }
  function serverNow() { return Date.now() + st.offset; }

  function agoText(iso) { // the fleet page's own words for "how long ago"
    var at = S.parseTime(iso);
    if (at === null) return t("fl.ago.never");
    var sec = Math.max(0, (serverNow() - at) / 1000);
    if (sec < 60) return t("fl.ago.now");
    if (sec < 3600) return t("fl.ago.min", { n: Math.floor(sec / 60) });
    if (sec < 48 * 3600) return t("fl.ago.hour", { n: Math.floor(sec / 3600) });
    return t("fl.ago.day", { n: Math.floor(sec / 86400) });
  }

  function fillKinds() {
    var keep = els.kind.value || "sos";
    els.kind.textContent = "";
    KINDS.forEach(function (k) {
      var o = document.createElement("option");
      o.value = k;
      o.textContent = kindName(k);
      els.kind.appendChild(o);
    });
    els.kind.value = keep;
  }

  function loadHomes() {
    S.api("/api/homes?limit=10000").then(function (r) {
      if (!r.ok || !Array.isArray(r.data)) return;
      els.homes.textContent = "";
      r.data.forEach(function (h) {
        var o = document.createElement("option");
        o.value = h.home_id;
        o.label = [h.address, h.resident].filter(Boolean).join(" · ");
        els.homes.appendChild(o);
      });
    });
  }

  function loadHeard() {
    S.api("/api/devices/unregistered?limit=20").then(function (r) {
      if (r.status === 401) return;
      st.heardError = r.ok ? "" : t("fl.heard.error", { detail: r.detail });
      if (r.ok && Array.isArray(r.data)) st.heard = r.data;
      renderHeard();
    });
  }

  function renderHeard() {
    els.heard.textContent = "";
    var items = st.heardError ? [st.heardError] : !st.heard ? [] : st.heard.length === 0 ? [t("fl.heard.none")]
      : st.heard.map(function (d) {
        return t("fl.heard.item", { device: d.device_id, kind: eventName(d.last_kind), ago: agoText(d.last_seen) });
      });
    items.forEach(function (text) {
      var li = document.createElement("li");
      li.textContent = text;
      els.heard.appendChild(li);
    });
  }

  function statusText() {
    var p = st.pairing;
    if (st.message) return st.message;
    if (!p) return "";
    if (p.status === "waiting") {
      var left = Math.max(0, Math.round((S.parseTime(p.expires_at) - serverNow()) / 1000));
      return t("fl.pair.waiting", { left: left });
    }
    if (p.status === "paired") {
      var heard = p.heard ? eventName(p.heard.kind) : "";
      return t("fl.pair.paired", { device: p.device_id, heard: heard, home: p.home_id, kind: kindName(p.kind) });
    }
    return t(p.status === "cancelled" ? "fl.pair.cancelled" : "fl.pair.expired");
  }

  function render() {
    var waiting = !!st.pairing && st.pairing.status === "waiting";
    els.start.disabled = waiting;
    els.cancel.hidden = !waiting;
    els.home.disabled = waiting;
    els.kind.disabled = waiting;
    S.setText(els.status, statusText());
    els.status.className = "fl-pair-status" + (st.pairing ? " " + st.pairing.status : "");
  }

  function track(data, asked) {
    var server = S.parseTime(data && data.started_at);
    if (asked && server !== null) st.offset = server - (asked + Date.now()) / 2;
    st.pairing = data;
    st.message = "";
    render();
    clearTimeout(st.poll);
    if (data.status === "waiting") {
      st.poll = setTimeout(function () {
        S.api("/api/pairing/" + data.id).then(function (r) {
          if (r.ok && r.data) track(r.data);
          else { st.message = t("fl.pair.failed", { detail: r.detail }); render(); }
        });
      }, POLL_MS);
    } else if (data.status === "paired") {
      loadHeard();
      var refresh = document.getElementById("refresh"); // fleet.js reloads the list: the new device shows
      if (refresh) refresh.click();
    }
  }

  function startPairing(ev) {
    ev.preventDefault();
    var home = els.home.value.trim();
    if (!home) { st.message = t("fl.pair.needHome"); st.pairing = null; render(); els.home.focus(); return; }
    els.start.disabled = true;
    var asked = Date.now();
    S.api("/api/pairing", { method: "POST", body: { home_id: home, kind: els.kind.value } }).then(function (r) {
      if (r.ok && r.data) { track(r.data, asked); return; }
      st.pairing = null;
      st.message = t("fl.pair.failed", { detail: r.detail });
      render();
    });
  }

  function cancelPairing() {
    if (!st.pairing) return;
    els.cancel.disabled = true;
    S.api("/api/pairing/" + st.pairing.id, { method: "DELETE" }).then(function (r) {
      els.cancel.disabled = false;
      if (r.ok && r.data) track(r.data);
      else { st.message = t("fl.pair.failed", { detail: r.detail }); render(); }
    });
  }

  function start() {
    els = { section: $("pairing"), form: $("pair-form"), home: $("pair-home"), homes: $("pair-homes"),
      kind: $("pair-kind"), start: $("pair-start"), cancel: $("pair-cancel"), status: $("pair-status"),
      heard: $("heard"), lang: $("lang-toggle") };
    S.api("/api/auth/me").then(function (r) {
      if (!r.ok || !r.data || r.data.role !== "admin") return; // pairing writes the registry: admins
      els.section.hidden = false;
      fillKinds();
      loadHomes();
      loadHeard();
      setInterval(loadHeard, HEARD_MS);
      setInterval(function () { if (st.pairing && st.pairing.status === "waiting") render(); }, 1000);
    });
    els.form.addEventListener("submit", startPairing);
    els.cancel.addEventListener("click", cancelPairing);
    els.lang.addEventListener("click", function () {
      setTimeout(function () { fillKinds(); renderHeard(); render(); }, 0); // after fleet.js switched
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
