// Passkeys: turns a form marked data-passkey="create" or "get" into a
// WebAuthn ceremony. On submit it asks the server for the options
// (data-options, a POST carrying the page's CSRF token), lets the browser
// make or use the passkey, puts the answer into the form's hidden
// `ceremony` and `credential` fields and submits the form for real; the
// server checks everything. Binary members travel as base64url text.
(function () {
  "use strict";

  function fromB64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes.buffer;
  }

  function toB64url(buffer) {
    if (!buffer) return null;
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (c) {
      var copy = Object.assign({}, c);
      copy.id = fromB64url(c.id);
      return copy;
    });
  }

  // The server's JSON options, with the binary members the browser wants as buffers.
  function creationOptions(publicKey) {
    var o = Object.assign({}, publicKey);
    o.challenge = fromB64url(publicKey.challenge);
    o.user = Object.assign({}, publicKey.user, { id: fromB64url(publicKey.user.id) });
    o.excludeCredentials = withIds(publicKey.excludeCredentials);
    return o;
  }

  function requestOptions(publicKey) {
    var o = Object.assign({}, publicKey);
    o.challenge = fromB64url(publicKey.challenge);
    o.allowCredentials = withIds(publicKey.allowCredentials);
    return o;
  }

  function extensions(credential) {
    try { return credential.getClientExtensionResults() || {}; } catch (e) { return {}; }
  }

  function created(credential) {
    var r = credential.response;
    var transports = typeof r.getTransports === "function" ? r.getTransports() : undefined;
    return {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      response: {
        attestationObject: toB64url(r.attestationObject),
        clientDataJSON: toB64url(r.clientDataJSON),
        transports: transports
      },
      extensions: extensions(credential)
    };
  }

  function asserted(credential) {
    var r = credential.response;
    return {
      id: credential.id,
      rawId: toB64url(credential.rawId),
      type: credential.type,
      response: {
        authenticatorData: toB64url(r.authenticatorData),
        clientDataJSON: toB64url(r.clientDataJSON),
        signature: toB64url(r.signature),
        userHandle: toB64url(r.userHandle)
      },
      extensions: extensions(credential)
    };
  }

  function say(form, text) {
    var box = form.querySelector("[data-passkey-message]");
    if (box) {
      box.textContent = text;
      box.hidden = false;
    }
  }

  function start(form) {
    var mode = form.getAttribute("data-passkey");
    var button = form.querySelector("[type=submit]");
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say(form, form.getAttribute("data-unsupported"));
      return;
    }
    var csrf = form.querySelector("input[name=csrf_token]");
    if (button) button.disabled = true;
    fetch(form.getAttribute("data-options"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf ? csrf.value : "" },
      body: "{}"
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body.detail || response.statusText);
        return body;
      });
    }).then(function (body) {
      form.querySelector("input[name=ceremony]").value = body.ceremony;
      var publicKey = body.options.publicKey;
      return mode === "create"
        ? navigator.credentials.create({ publicKey: creationOptions(publicKey) }).then(created)
        : navigator.credentials.get({ publicKey: requestOptions(publicKey) }).then(asserted);
    }).then(function (answer) {
      form.querySelector("input[name=credential]").value = JSON.stringify(answer);
      // data-with names a field the page shows once, outside this form (the
      // lock page's new password), whose value goes along.
      var shared = form.getAttribute("data-with");
      if (shared) {
        var from = document.querySelector("[name='" + shared + "']:not([type=hidden])");
        var to = form.querySelector("input[type=hidden][name='" + shared + "']");
        if (from && to) to.value = from.value;
      }
      form.submit();
    }).catch(function (error) {
      if (button) button.disabled = false;
      // A cancelled or timed-out prompt is the browser's NotAllowedError.
      say(form, error && error.name === "NotAllowedError"
        ? form.getAttribute("data-cancelled")
        : (error && error.message) || form.getAttribute("data-cancelled"));
    });
  }

  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.querySelector("input[name=credential]").value) return;
      event.preventDefault();
      start(form);
    });
  });
})();
