// The invite page's only script (routes/invite/[code]: server-rendered, none of the app's
// JavaScript, issue 14). A file because the Content-Security-Policy allows no inline scripts;
// plain ES5-style like theme-init.js. The page works without it (links, a form); with it:
//  - "Create an account" / "Log in" remember the invite for this tab, and when the visitor is
//    back here logged in, the invite is accepted at once (the page's accept form is submitted);
//  - a language link also saves the choice for the app (the key of lib/i18n LOCALE_STORAGE_KEY),
//    and a visitor's saved choice is shown (the server cannot see it);
//  - the theme button appears and toggles the theme (lib/theme.svelte.ts THEME_STORAGE_KEY).
(function () {
  var PENDING_KEY = "woxly.pendingInvite"; // the key the page used before it was server-only
  var LOCALE_KEY = "woxly.locale";
  var THEME_KEY = "woxly.theme";
  var root = document.documentElement;

  function store(key, value) {
    try {
      if (value === null) sessionStorage.removeItem(key);
      else if (key === PENDING_KEY) sessionStorage.setItem(key, value);
      else localStorage.setItem(key, value);
    } catch (e) {
      // Storage disabled: the visitor presses "Accept invite" after registering.
    }
  }
  function pending() {
    try {
      return sessionStorage.getItem(PENDING_KEY);
    } catch (e) {
      return null;
    }
  }

  // The page is in the language of ?lang=, the account or the request; a visitor's choice saved
  // in this browser wins, as it does in the app (one reload, only when they differ).
  var page = document.querySelector("[data-invite-lang]");
  var shown = page && page.getAttribute("data-invite-lang");
  var saved = null;
  try {
    saved = localStorage.getItem(LOCALE_KEY);
  } catch (e) {}
  if (shown) root.lang = shown;
  if (
    shown && saved && saved !== shown && /^(en|ru|ky)$/.test(saved) &&
    !/[?&]lang=/.test(location.search) && document.querySelector("[data-invite-remember]")
  ) {
    location.replace("?lang=" + saved);
    return;
  }

  var accept = document.querySelector("form[data-invite-accept]");
  if (accept && pending() === accept.getAttribute("data-invite-accept")) {
    store(PENDING_KEY, null);
    if (accept.requestSubmit) accept.requestSubmit();
    else accept.submit();
  }

  var remember = document.querySelectorAll("[data-invite-remember]");
  for (var i = 0; i < remember.length; i++) {
    remember[i].addEventListener("click", function (event) {
      store(PENDING_KEY, event.currentTarget.getAttribute("data-invite-remember"));
    });
  }

  var locales = document.querySelectorAll("[data-invite-locale]");
  for (var j = 0; j < locales.length; j++) {
    locales[j].addEventListener("click", function (event) {
      store(LOCALE_KEY, event.currentTarget.getAttribute("data-invite-locale"));
    });
  }

  var toggle = document.querySelector("[data-invite-theme]");
  if (toggle) {
    var show = function () {
      toggle.setAttribute("aria-pressed", root.getAttribute("data-theme") === "dark" ? "true" : "false");
    };
    toggle.hidden = false;
    show();
    toggle.addEventListener("click", function () {
      var next = root.getAttribute("data-theme") === "dark" ? "light" : "dark";
      root.setAttribute("data-theme", next);
      store(THEME_KEY, next);
      show();
    });
  }
})();
