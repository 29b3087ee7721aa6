// Latchkey's passkey buttons (the login page's "Sign in with a passkey", the
// second-factor page's "Use a passkey instead", the account page's "Add a
// passkey"). Served as a same-origin file: the pages'
// CSP allows no inline script. It fetches the WebAuthn options from the
// server (JSON, with the page's form token), runs the browser's ceremony,
// posts the answer back, and follows the `redirect` the server answers; an
// `error` code shows that code's message, rendered on the page in its
// language. Without this script (or without WebAuthn) the buttons stay hidden
// and the pages work as before.
(function () {
  'use strict';
  if (!window.PublicKeyCredential || !navigator.credentials) {
    var unsupported = document.getElementById('passkey-error-unsupported');
    if (unsupported && document.getElementById('passkey-register')) unsupported.hidden = false;
    // The second-factor page may offer nothing else: say why the button cannot work.
    var mfaUnsupported = document.getElementById('passkey-mfa-error-unsupported');
    if (mfaUnsupported) {
      document.getElementById('passkey-mfa').hidden = false;
      mfaUnsupported.hidden = false;
      document.getElementById('passkey-second-factor').disabled = true;
    }
    return;
  }

  function toBytes(base64url) {
    var base64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
    var binary = atob(base64 + '==='.slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = '';
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function credentialJson(credential) {
    var r = credential.response;
    var response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
    }
    if (r.authenticatorData) response.authenticatorData = toBase64url(r.authenticatorData);
    if (r.signature) response.signature = toBase64url(r.signature);
    if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: response,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
    };
  }

  function post(path, body) {
    return fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().catch(function () {
        return { error: 'invalid_request' };
      });
    });
  }

  /** Only our own pages, or the issuer's own resume URL: never another origin. */
  function follow(redirect) {
    var target = new URL(redirect, location.href);
    if (target.origin !== location.origin) throw new Error('refusing a redirect to another origin');
    location.assign(target.href);
  }

  function showError(prefix, code) {
    var all = document.querySelectorAll('[id^="' + prefix + '"]');
    for (var i = 0; i < all.length; i++) all[i].hidden = true;
    var shown = document.getElementById(prefix + code) || document.getElementById(prefix + 'invalid_request');
    if (shown) shown.hidden = false;
  }

  // A ceremony the person cancelled (or that timed out) is not a failure of the passkey.
  function ceremonyError(error) {
    return error && error.name === 'NotAllowedError' ? 'cancelled' : error && error.name === 'InvalidStateError' ? 'taken' : 'failed';
  }

  var register = document.getElementById('passkey-register');
  if (register) {
    var token = document.getElementById('passkeys').getAttribute('data-token');
    register.hidden = false;
    register.addEventListener('submit', function (event) {
      event.preventDefault();
      var button = register.querySelector('button');
      button.disabled = true;
      var name = document.getElementById('passkey-name').value;
      post('/account/passkeys/options', { token: token })
        .then(function (answer) {
          if (answer.error) throw { code: answer.error };
          var o = answer.options;
          o.challenge = toBytes(o.challenge);
          o.user.id = toBytes(o.user.id);
          (o.excludeCredentials || []).forEach(function (c) {
            c.id = toBytes(c.id);
          });
          return navigator.credentials.create({ publicKey: o }).catch(function (error) {
            throw { code: ceremonyError(error) };
          });
        })
        .then(function (credential) {
          return post('/account/passkeys/register', { token: token, name: name, response: credentialJson(credential) });
        })
        .then(function (answer) {
          if (answer.error) throw { code: answer.error };
          follow(answer.redirect);
        })
        .catch(function (error) {
          showError('passkey-error-', (error && error.code) || 'failed');
          button.disabled = false;
        });
    });
  }

  /** A button that answers a challenge for an interaction: `path` is the endpoints' folder, `prefix` its error messages'. */
  function assertionButton(button, container, path, prefix) {
    if (!button) return;
    var formToken = button.getAttribute('data-token');
    var base = '/interaction/' + encodeURIComponent(button.getAttribute('data-uid')) + '/' + path + '/';
    container.hidden = false;
    button.addEventListener('click', function () {
      button.disabled = true;
      post(base + 'options', { token: formToken })
        .then(function (answer) {
          if (answer.error) throw { code: answer.error };
          var o = answer.options;
          o.challenge = toBytes(o.challenge);
          (o.allowCredentials || []).forEach(function (c) {
            c.id = toBytes(c.id);
          });
          return navigator.credentials.get({ publicKey: o }).catch(function (error) {
            throw { code: ceremonyError(error) };
          });
        })
        .then(function (credential) {
          return post(base + 'verify', { token: formToken, response: credentialJson(credential) });
        })
        .then(function (answer) {
          if (answer.error) throw { code: answer.error };
          follow(answer.redirect);
        })
        .catch(function (error) {
          showError(prefix, (error && error.code) || 'failed');
          button.disabled = false;
        });
    });
  }

  assertionButton(document.getElementById('passkey-sign-in'), document.getElementById('passkey-login'), 'passkey', 'passkey-login-error-');
  assertionButton(document.getElementById('passkey-second-factor'), document.getElementById('passkey-mfa'), 'passkey-mfa', 'passkey-mfa-error-');
})();
