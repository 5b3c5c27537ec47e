// The channel's server-rendered first screen (lib/server/first-screen.ts): its times in the
// viewer's time zone and language (the server wrote UTC), and the authors' role colours
// (data-color) and exact avatar hues (data-hue; no inline styles in the markup: the CSP). A file, not inline, for the CSP.
(function () {
  var fs = document.getElementById("first-screen");
  if (!fs) return;
  var locale = fs.getAttribute("data-locale") || "en";
  try {
    var saved = localStorage.getItem("woxly.locale");
    if (saved === "en" || saved === "ru" || saved === "ky") locale = saved;
  } catch (e) {
    // Storage can be disabled: the account's language.
  }
  var day = function (d) {
    return d.getFullYear() + "-" + d.getMonth() + "-" + d.getDate();
  };
  var today = day(new Date());
  var clock, dated, full;
  try {
    clock = new Intl.DateTimeFormat(locale, { hour: "numeric", minute: "2-digit" });
    dated = new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "short" });
    full = new Intl.DateTimeFormat(locale, { dateStyle: "full", timeStyle: "short" });
  } catch (e) {
    return;
  }
  var times = fs.querySelectorAll("time[datetime]");
  for (var i = 0; i < times.length; i++) {
    var t = times[i];
    var at = new Date(t.getAttribute("datetime"));
    if (isNaN(at.getTime())) continue;
    // As the app's headerTime: the clock today, the date and clock before.
    t.textContent = t.getAttribute("data-format") === "clock" || day(at) === today ? clock.format(at) : dated.format(at);
    t.title = full.format(at);
  }
  var coloured = fs.querySelectorAll("[data-color]");
  for (var j = 0; j < coloured.length; j++) {
    var c = coloured[j].getAttribute("data-color");
    if (/^#[0-9a-f]{6}$/.test(c)) coloured[j].style.color = c;
  }
  var hued = fs.querySelectorAll("[data-hue]");
  for (var k = 0; k < hued.length; k++) {
    var h = Number(hued[k].getAttribute("data-hue"));
    if (h >= 0 && h < 360) hued[k].style.setProperty("--fs-hue", String(h));
  }
})();
