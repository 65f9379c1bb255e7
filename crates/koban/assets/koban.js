// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // Times are rendered in UTC; show them in the viewer's own zone and language.
  var lang = document.documentElement.lang || undefined;
  document.querySelectorAll("time[data-local]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (!isNaN(when)) {
      el.title = el.textContent;
      el.textContent = when.toLocaleString(lang, { dateStyle: "medium", timeStyle: "medium" });
    }
  });
  // Tell the server the browser's time zone, so pages can show times in it.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && /^[A-Za-z0-9_+\/-]{1,64}$/.test(zone) && document.cookie.indexOf("koban_tz=" + zone) < 0) {
      document.cookie = "koban_tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* no Intl: times stay in UTC */ }
  // Close the language menu when clicking elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.lang-switch[open]").forEach(function (d) {
      if (!d.contains(event.target)) d.removeAttribute("open");
    });
  });
})();
