// authgate: the WebAuthn ceremonies of the login, second-factor and account pages. The only
// script authgate serves; everything else works without it. The server keeps the ceremony
// state.
(function () {
  "use strict";
  function toBuffer(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function toText(buf) {
    var bytes = new Uint8Array(buf), s = "";
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function start(form) {
    var body = new URLSearchParams(new FormData(form));
    return fetch(form.dataset.start, { method: "POST", body: body, credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error("the passkey could not be started (" + r.status + ")");
        return r.json();
      });
  }
  function finish(form, ceremony, credential) {
    form.elements.ceremony.value = ceremony;
    form.elements.credential.value = JSON.stringify(credential);
    form.submit();
  }
  function fail(button, e) {
    var p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.textContent = String(e && e.message ? e.message : e);
    button.parentNode.appendChild(p);
  }
  var add = document.getElementById("add-passkey");
  if (add) add.addEventListener("click", function () {
    start(add.form).then(function (c) {
      var pk = c.options.publicKey;
      pk.challenge = toBuffer(pk.challenge);
      pk.user.id = toBuffer(pk.user.id);
      (pk.excludeCredentials || []).forEach(function (x) { x.id = toBuffer(x.id); });
      return navigator.credentials.create({ publicKey: pk }).then(function (cred) {
        finish(add.form, c.ceremony, {
          id: cred.id, rawId: toText(cred.rawId), type: cred.type,
          extensions: cred.getClientExtensionResults(),
          response: {
            attestationObject: toText(cred.response.attestationObject),
            clientDataJSON: toText(cred.response.clientDataJSON)
          }
        });
      });
    }).catch(function (e) { fail(add, e); });
  });
  // An assertion for `form`'s challenge; `signal` makes it a conditional (autofill) request.
  function assertion(form, signal) {
    return start(form).then(function (c) {
      var pk = c.options.publicKey;
      pk.challenge = toBuffer(pk.challenge);
      (pk.allowCredentials || []).forEach(function (x) { x.id = toBuffer(x.id); });
      var request = { publicKey: pk };
      if (signal) { request.mediation = "conditional"; request.signal = signal; }
      return navigator.credentials.get(request).then(function (cred) {
        var r = cred.response;
        finish(form, c.ceremony, {
          id: cred.id, rawId: toText(cred.rawId), type: cred.type,
          extensions: cred.getClientExtensionResults(),
          response: {
            authenticatorData: toText(r.authenticatorData),
            clientDataJSON: toText(r.clientDataJSON),
            signature: toText(r.signature),
            userHandle: r.userHandle ? toText(r.userHandle) : null
          }
        });
      });
    });
  }
  var use = document.getElementById("use-passkey");
  if (use) use.addEventListener("click", function () {
    assertion(use.form).catch(function (e) { fail(use, e); });
  });
  // Passkey sign-in: saved passkeys are offered in the username's autofill from page load,
  // and the button asks for one at once.
  var signIn = document.getElementById("passkey-sign-in");
  if (signIn) {
    var autofill = null;
    var pkc = window.PublicKeyCredential;
    if (pkc && pkc.isConditionalMediationAvailable) {
      pkc.isConditionalMediationAvailable().then(function (available) {
        if (!available) return;
        autofill = new AbortController();
        document.documentElement.setAttribute("data-passkey-autofill", "pending");
        assertion(signIn.form, autofill.signal).catch(function () { /* dismissed or aborted */ });
      });
    }
    signIn.addEventListener("click", function () {
      if (autofill) autofill.abort();
      assertion(signIn.form).catch(function (e) { fail(signIn, e); });
    });
  }
})();
