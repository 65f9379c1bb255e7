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
  // Country codes in the reader's language ("US" becomes "United States",
  // "アメリカ合衆国", "美国"…): the browser knows every name, the server does not.
  try {
    var regions = new Intl.DisplayNames([lang || "en"], { type: "region" });
    document.querySelectorAll("[data-region]").forEach(function (el) {
      var name = regions.of(el.getAttribute("data-region"));
      if (name) el.textContent = name;
    });
  } catch (e) { /* no Intl.DisplayNames: the code stays */ }
  // Recovery codes: copy and print (download is a plain link).
  document.querySelectorAll("[data-codes-actions]").forEach(function (box) {
    var status = document.getElementById("codes-status");
    var text = document.getElementById("codes-text");
    var say = function (message) { if (status) status.textContent = message; };
    var copy = box.querySelector("[data-codes-copy]");
    var print = box.querySelector("[data-codes-print]");
    if (copy && text) {
      copy.hidden = false;
      copy.addEventListener("click", function () {
        var fallback = function () {
          // Older browsers and pages without clipboard permission.
          text.removeAttribute("aria-hidden");
          text.select();
          var ok = false;
          try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
          text.setAttribute("aria-hidden", "true");
          say(box.getAttribute(ok ? "data-copied" : "data-copy-failed"));
        };
        if (navigator.clipboard && navigator.clipboard.writeText) {
          navigator.clipboard.writeText(text.value).then(function () {
            say(box.getAttribute("data-copied"));
          }, fallback);
        } else {
          fallback();
        }
      });
    }
    if (print) {
      print.hidden = false;
      print.addEventListener("click", function () { window.print(); });
    }
  });
  // Close the language menu when clicking elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.lang-switch[open]").forEach(function (d) {
      if (!d.contains(event.target)) d.removeAttribute("open");
    });
  });
})();
