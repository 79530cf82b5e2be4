/* Shewu on-call board: alert sounds generated with the Web Audio API (no sound files).
 * Browsers keep audio suspended until a user gesture, so the board offers an
 * "enable sound" toggle, remembers the choice, and resumes audio on the first click
 * or key press after a reload. */
(function () {
  "use strict";

  var STORAGE_KEY = "shewu.board.sound";
  var ctx = null;
  var enabled = false;
  var listeners = [];

  function notify() {
    for (var i = 0; i < listeners.length; i++) {
      try { listeners[i](); } catch (e) { /* a listener's error must not stop the others */ }
    }
  }

  function getContext() {
    if (ctx) return ctx;
    var AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) return null;
    try {
      ctx = new AC();
      ctx.onstatechange = notify;
    } catch (e) {
      ctx = null;
    }
    return ctx;
  }

  /** Resume audio; only works inside a user gesture (or when the page already has one). */
  function unlock() {
    if (!enabled) return Promise.resolve(false);
    var c = getContext();
    if (c && c.state === "suspended") {
      return c.resume().then(function () { notify(); return true; }, function () { notify(); return false; });
    }
    return Promise.resolve(!!c);
  }

  function load() {
    try { enabled = window.localStorage.getItem(STORAGE_KEY) === "on"; } catch (e) { enabled = false; }
    // Any later gesture on the page unlocks the audio the operator asked for earlier.
    document.addEventListener("pointerdown", unlock, true);
    document.addEventListener("keydown", unlock, true);
    return enabled;
  }

  function setEnabled(on) {
    enabled = !!on;
    try { window.localStorage.setItem(STORAGE_KEY, enabled ? "on" : "off"); } catch (e) { /* ignore */ }
    if (enabled) {
      unlock().then(function () { beep(1); }); // audible confirmation that sound works
    }
    notify();
  }

  /** "off" | "on" | "blocked" (wanted, but the browser still waits for a gesture). */
  function state() {
    if (!enabled) return "off";
    if (!ctx) return "blocked";
    return ctx.state === "running" ? "on" : "blocked";
  }

  function tone(c, start, freq, dur, gainValue) {
    var osc = c.createOscillator();
    var gain = c.createGain();
    osc.type = "square";
    osc.frequency.setValueAtTime(freq, start);
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(gainValue, start + 0.01);
    gain.gain.setValueAtTime(gainValue, start + dur - 0.03);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + dur);
    osc.connect(gain);
    gain.connect(c.destination);
    osc.start(start);
    osc.stop(start + dur + 0.02);
  }

  /** An urgent two-tone alarm, repeated `times` times (default 3). */
  function beep(times) {
    if (!enabled) return false;
    var c = getContext();
    if (!c || c.state !== "running") return false;
    var n = times || 3;
    var t0 = c.currentTime + 0.02;
    for (var i = 0; i < n; i++) {
      var s = t0 + i * 0.5;
      tone(c, s, 880, 0.18, 0.25);
      tone(c, s + 0.22, 1175, 0.18, 0.25);
    }
    return true;
  }

  window.ShewuSound = {
    load: load,
    setEnabled: setEnabled,
    get enabled() { return enabled; },
    state: state,
    beep: beep,
    onChange: function (fn) { listeners.push(fn); }
  };
})();
