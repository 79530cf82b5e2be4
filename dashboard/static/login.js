/* Shewu sign-in page: POST api/auth/login (name, password); the server answers with an
 * HttpOnly session cookie. Then on to ?next= (a path on this site only) or the role's page:
 * the on-call board for office staff, the technician's page for technicians, the requests page
 * (request.html) for residents, whatever next asked for. */
(function () {
  "use strict";

  var I18N = window.ShewuI18n;
  var S = window.Shewu;
  var t = I18N.t;
  var $ = function (id) { return document.getElementById(id); };
  var els = {};
  var busy = false;
  var signedIn = null; // {name, display_name, role} when a session already exists

  function requestedNext() {
    var params = new URLSearchParams(window.location.search);
    return params.has("next") ? S.safeNext(params.get("next")) : null;
  }

  var roleLabel = S.roleLabel;

  /** Where to go once signed in as `role`; null when the role has no page here. */
  function destination(role) {
    var next = requestedNext();
    // Residents have one page: their requests (居民点单). Any other "next" is not for them.
    if (role === "resident") return next && /^\/request\.html(?:[?#]|$)/.test(next) ? next : "/request.html";
    // The board sends technicians on to their own page anyway; go there directly.
    if (role === "technician" && (next === null || next === "/" || next === "/index.html")) return "/tech.html";
    return next || S.homeFor(role);
  }

  function showError(text) {
    S.setText(els.error, text);
  }

  function renderSignedIn() {
    els.signedIn.hidden = !signedIn;
    if (!signedIn) return;
    var name = signedIn.display_name || signedIn.name;
    S.setText(els.signedInText, t("login.signedIn", { name: name, role: roleLabel(signedIn.role) }));
    var dest = destination(signedIn.role);
    els.signedInContinue.hidden = !dest;
    if (dest) els.signedInContinue.setAttribute("href", dest);
    else S.setText(els.signedInText, t("login.noPage", { role: roleLabel(signedIn.role) }));
  }

  function applyTexts() {
    S.applyStaticTexts();
    document.title = t("login.title");
    S.renderHeader(null);
    var params = new URLSearchParams(window.location.search);
    els.info.hidden = !params.has("next");
    S.setText(els.info, t("login.needed"));
    els.submit.textContent = busy ? t("login.busy") : t("login.submit");
    renderSignedIn();
  }

  function setBusy(on) {
    busy = on;
    els.submit.disabled = on;
    els.submit.textContent = on ? t("login.busy") : t("login.submit");
  }

  function submit(ev) {
    ev.preventDefault();
    if (busy) return;
    var name = els.name.value.trim();
    var password = els.password.value;
    if (!name || !password) {
      showError(t("login.required"));
      (name ? els.password : els.name).focus();
      return;
    }
    showError("");
    setBusy(true);
    S.api("/api/auth/login", { method: "POST", body: { name: name, password: password }, noLoginRedirect: true })
      .then(function (r) {
        if (r.ok && r.data && typeof r.data === "object") {
          var dest = destination(r.data.role);
          if (!dest) {
            setBusy(false);
            signedIn = r.data;
            renderSignedIn();
            showError(t("login.noPage", { role: roleLabel(r.data.role) }));
            return;
          }
          window.location.replace(dest);
          return;
        }
        setBusy(false);
        if (r.status === 401) {
          showError(t("login.wrong"));
          els.password.value = "";
          els.password.focus();
        } else if (r.status === 429) {
          showError(t("login.throttled"));
        } else if (r.status === 0) {
          showError(r.detail);
        } else {
          showError(t("login.failed", { detail: r.detail }));
        }
      });
  }

  function init() {
    els = {
      form: $("login-form"), name: $("login-name"), password: $("login-password"), error: $("login-error"),
      submit: $("login-submit"), info: $("login-info"),
      signedIn: $("signed-in"), signedInText: $("signed-in-text"), signedInContinue: $("signed-in-continue"),
      signedInOut: $("signed-in-out")
    };
    I18N.load();
    applyTexts();
    showError("");
    els.form.addEventListener("submit", submit);
    S.bindHeader({
      onLanguage: function () {
        applyTexts();
        showError("");
      }
    });
    els.signedInOut.addEventListener("click", function () {
      S.api("/api/auth/logout", { method: "POST", noLoginRedirect: true }).then(function () {
        signedIn = null;
        renderSignedIn();
        els.name.focus();
      });
    });
    els.name.focus();
    // Already signed in (e.g. the back button)? Offer to go on rather than sign in again.
    S.api("/api/auth/me", { noLoginRedirect: true }).then(function (r) {
      if (r.ok && r.data && r.data.role) {
        signedIn = r.data;
        renderSignedIn();
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
