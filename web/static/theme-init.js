// Runs in <head> before first paint: picks the theme (saved choice, else the OS preference)
// and the saved language, so the page never flashes the wrong colours. Kept as a file
// because the Content-Security-Policy allows no inline scripts.
(function () {
  var root = document.documentElement;
  var theme = null;
  try {
    theme = localStorage.getItem("woxly.theme");
    var locale = localStorage.getItem("woxly.locale");
    if (locale === "en" || locale === "ru" || locale === "ky") root.lang = locale;
  } catch (e) {
    // Storage can be disabled; fall back to the OS preference.
  }
  if (theme !== "light" && theme !== "dark") {
    theme = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }
  root.setAttribute("data-theme", theme);
})();
