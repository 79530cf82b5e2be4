/* Shewu pages: the one i18n module. Every user-visible string lives in a dictionary under i18n/:
 * i18n/common.js (what several pages use) and one per page (i18n/board.js, i18n/fleet.js, ...),
 * each of which hands its {zh: {...}, en: {...}} to ShewuI18n.add(). A page loads this file, then
 * i18n/common.js, then its own dictionary, then common.js and its script.
 * Values are plain text (put into the page with textContent, never as HTML).
 * "{name}" placeholders are filled by ShewuI18n.t(key, {name: value}). */
(function () {
  "use strict";

  var LANGS = ["zh", "en"];
  var DICT = { zh: {}, en: {} };
  var STORAGE_KEY = "shewu.board.lang";
  var current = "zh";

  /** Merge a dictionary, {zh: {key: text}, en: {key: text}}, into the shared one. Every key is
   * defined in one dictionary only (tests/test_i18n_labels.py checks it). */
  function add(dicts) {
    LANGS.forEach(function (lang) {
      var src = dicts[lang] || {};
      for (var k in src) if (Object.prototype.hasOwnProperty.call(src, k)) DICT[lang][k] = src[k];
    });
  }

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
    add: add,
    load: load,
    set: set,
    t: t,
    tOr: tOr,
    get lang() { return current; },
    htmlLang: function () { return current === "zh" ? "zh-CN" : "en"; }
  };
})();
