// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // Times are rendered in UTC; show them in the viewer's own zone and language.
  var lang = document.documentElement.lang || undefined;
  document.querySelectorAll("time[data-local]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (!isNaN(when)) {
      el.title = el.textContent;
      // data-local="time": a moment within the day, such as when a lock ends.
      el.textContent = el.getAttribute("data-local") === "time"
        ? when.toLocaleTimeString(lang, { hour: "numeric", minute: "2-digit" })
        : when.toLocaleString(lang, { dateStyle: "medium", timeStyle: "medium" });
    }
  });
  // Live countdowns: data-countdown holds the end (ms since the epoch); at
  // the end the text becomes data-done and the page reloads, so it offers
  // what is possible then.
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function clock(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
    return (h ? h + ":" + two(m) : String(m)) + ":" + two(s);
  }
  function nextSecond(tick) { setTimeout(tick, 1000 - (Date.now() % 1000) + 5); }
  document.querySelectorAll("[data-countdown]").forEach(function (el) {
    var end = parseInt(el.getAttribute("data-countdown"), 10);
    if (!end) return;
    (function tick() {
      var left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
      if (left === 0) {
        el.textContent = el.getAttribute("data-done") || "0:00";
        if (el.hasAttribute("data-reload")) window.location.reload();
        return;
      }
      el.textContent = clock(left);
      nextSecond(tick);
    })();
  });
  // Buttons that may not be used yet (a code asked for a moment ago):
  // data-wait-until (ms since the epoch) disables them, counting down in
  // their label (data-wait-text, with "{time}"), and then gives them back.
  // Without the script an early click gets the server's "wait" answer.
  document.querySelectorAll("[data-wait-until]").forEach(function (button) {
    var until = parseInt(button.getAttribute("data-wait-until"), 10);
    var label = button.textContent;
    var text = button.getAttribute("data-wait-text") || label;
    (function tick() {
      var left = Math.ceil((until - Date.now()) / 1000);
      if (!(left > 0)) {
        button.disabled = false;
        button.textContent = label;
        return;
      }
      button.disabled = true;
      button.textContent = text.replace("{time}", clock(left));
      nextSecond(tick);
    })();
  });
  // Tell the server the browser's time zone, so pages can show times in it.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && /^[A-Za-z0-9_+\/-]{1,64}$/.test(zone) && document.cookie.indexOf("koban_tz=" + zone) < 0) {
      document.cookie = "koban_tz=" + zone + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* no Intl: times stay in UTC */ }
  // A show/hide toggle on every password field, so a person can check what
  // they typed (phones especially) before sending it.
  var show = document.body.getAttribute("data-show-password");
  var hide = document.body.getAttribute("data-hide-password");
  if (show && hide) {
    document.querySelectorAll("input[type=password]").forEach(function (input) {
      var wrap = document.createElement("span");
      wrap.className = "password-wrap";
      input.parentNode.insertBefore(wrap, input);
      wrap.appendChild(input);
      var toggle = document.createElement("button");
      toggle.type = "button";
      toggle.className = "password-toggle";
      toggle.id = (input.id || input.name) + "-toggle";
      toggle.textContent = show;
      toggle.setAttribute("aria-pressed", "false");
      toggle.addEventListener("click", function () {
        var shown = input.type === "text";
        input.type = shown ? "password" : "text";
        toggle.textContent = shown ? show : hide;
        toggle.setAttribute("aria-pressed", shown ? "false" : "true");
        input.focus();
      });
      wrap.appendChild(toggle);
    });
  }
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
  // Files chosen on a support form are uploaded one by one first (the
  // server checks each by its content), and their tokens sent with the form.
  document.querySelectorAll("input[type=file][data-upload]").forEach(function (input) {
    var form = input.form;
    var hidden = form && form.querySelector("input[name=attachments]");
    if (!hidden) return;
    var done = false;
    form.addEventListener("submit", function (event) {
      if (done || !input.files.length) return;
      event.preventDefault();
      var csrf = form.querySelector("input[name=csrf_token]");
      var tokens = [];
      var files = Array.prototype.slice.call(input.files);
      (function next() {
        var file = files.shift();
        if (!file) {
          hidden.value = tokens.join(",");
          done = true;
          form.submit();
          return;
        }
        fetch("/api/v1/desk/uploads?filename=" + encodeURIComponent(file.name), {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/octet-stream", "X-CSRF-Token": csrf ? csrf.value : "" },
          body: file
        }).then(function (answer) {
          return answer.json().then(function (body) {
            if (!answer.ok) throw new Error(file.name + ": " + (body.detail || body.title || answer.status));
            tokens.push(body.token);
            next();
          });
        }).catch(function (error) {
          var note = document.createElement("p");
          note.className = "field-error";
          note.textContent = error.message;
          input.parentNode.appendChild(note);
        });
      })();
    });
  });
})();
