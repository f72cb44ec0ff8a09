// Passkeys (WebAuthn): adding one, and using one at the sign-in's second step or the re-check.
// No inline script (the Content-Security-Policy forbids it): a form says what it does in its
// data-* attributes (data-passkey="add" or "use", its begin and complete URLs, the messages in
// the page's language) and carries its CSRF token. The server answers JSON: {options} to begin,
// {redirect} when done, {error[, redirect]} when refused.
(function () {
  "use strict";
  if (window.obminPasskeys) return;  // one listener, however many forms include the script
  window.obminPasskeys = true;

  function toBytes(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) base64 += "=";
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: toBytes(item.id) });
    });
  }

  function creationOptions(json) {
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      user: Object.assign({}, json.user, { id: toBytes(json.user.id) }),
      excludeCredentials: descriptors(json.excludeCredentials)
    });
  }

  function requestOptions(json) {
    return Object.assign({}, json, {
      challenge: toBytes(json.challenge),
      allowCredentials: descriptors(json.allowCredentials)
    });
  }

  // What the browser made or signed, as the server reads it (PublicKeyCredential.toJSON()).
  function answer(credential) {
    if (typeof credential.toJSON === "function") return credential.toJSON();
    var response = credential.response;
    var json = {
      id: credential.id, rawId: toText(credential.rawId), type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      json.response.attestationObject = toText(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toText(response.authenticatorData);
      json.response.signature = toText(response.signature);
      json.response.userHandle = response.userHandle ? toText(response.userHandle) : null;
    }
    return json;
  }

  function post(form, url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json",
                 "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, data: data };
      });
    });
  }

  function say(form, text) {
    var place = form.querySelector("[data-passkey-message]");
    place.textContent = text;
    place.hidden = !text;
  }

  // The form's own fields (the passkey's name, next, step), its CSRF token aside.
  function fields(form) {
    var values = {};
    new FormData(form).forEach(function (value, name) {
      if (name !== "csrfmiddlewaretoken") values[name] = value;
    });
    return values;
  }

  function refused(form, result) {
    if (result.data.redirect) { window.location.assign(result.data.redirect); return; }
    say(form, result.data.error || form.dataset.failed);
  }

  function run(form) {
    var adding = form.dataset.passkey === "add";
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    say(form, "");
    return post(form, form.dataset.begin, fields(form)).then(function (begun) {
      if (!begun.ok) { refused(form, begun); return null; }
      var made = adding
        ? navigator.credentials.create({ publicKey: creationOptions(begun.data.options) })
        : navigator.credentials.get({ publicKey: requestOptions(begun.data.options) });
      return made.then(function (credential) {
        var body = fields(form);
        body.credential = answer(credential);
        return post(form, form.dataset.complete, body);
      }, function (error) {
        if (window.console) console.warn("passkey:", error);
        var name = error && error.name;
        say(form, name === "NotAllowedError" || name === "InvalidStateError"
          ? form.dataset.cancelled : form.dataset.failed);
        return null;
      }).then(function (done) {
        if (!done) return;
        if (done.ok && done.data.redirect) window.location.assign(done.data.redirect);
        else refused(form, done);
      });
    }).catch(function (error) {
      if (window.console) console.warn("passkey:", error);
      say(form, form.dataset.failed);
    }).finally(function () {
      button.disabled = false;
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-passkey]");
    if (!form) return;
    event.preventDefault();
    if (!window.PublicKeyCredential || !navigator.credentials) {
      say(form, form.dataset.unsupported);
      return;
    }
    run(form);
  });
})();
