/* Shewu sign-in page (login.html): its strings, in both languages, added to the shared
 * dictionaries by ShewuI18n.add() (load after i18n/i18n.js and i18n/common.js). Values are plain
 * text (put into the page with textContent, never as HTML); "{name}" placeholders are filled by
 * ShewuI18n.t(). */
window.ShewuI18n.add({
  zh: {
    "login.title": "登录 · 社物共治",
    "login.heading": "登录",
    "login.sub": "社区值班 · 物业师傅 · 网格员 · 居民",
    "login.name": "用户名",
    "login.password": "密码",
    "login.submit": "登录",
    "login.busy": "正在登录…",
    "login.needed": "请先登录。",
    "login.required": "请填写用户名和密码。",
    "login.wrong": "用户名或密码错误。",
    "login.throttled": "登录失败次数过多，请 5 分钟后再试。",
    "login.failed": "登录失败：{detail}",
    "login.signedIn": "您已登录：{name}（{role}）",
    "login.continue": "继续",
    "login.signOut": "换个账号",
    "login.noPage": "此账号（{role}）在这里没有可用的页面。"
  },
  en: {
    "login.title": "Sign in · Shewu",
    "login.heading": "Sign in",
    "login.sub": "On-call staff · technicians · grid workers · residents",
    "login.name": "User name",
    "login.password": "Password",
    "login.submit": "Sign in",
    "login.busy": "Signing in…",
    "login.needed": "Please sign in first.",
    "login.required": "Enter your user name and password.",
    "login.wrong": "Wrong user name or password.",
    "login.throttled": "Too many failed sign-ins. Try again in five minutes.",
    "login.failed": "Sign-in failed: {detail}",
    "login.signedIn": "You are signed in as {name} ({role}).",
    "login.continue": "Continue",
    "login.signOut": "Use another account",
    "login.noPage": "This account ({role}) has no page here."
  }
});
