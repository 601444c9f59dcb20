/**
 * The sign-in page's behaviour, inlined in a <script> element and allowed by
 * its sha256 hash in the Content-Security-Policy (page-csp.ts). It is the
 * same text for every response (no server data inside), so its hash is
 * computed once; settings reach it only through the markup.
 *
 * Flow: phone → POST /send-otp → code → POST /verify-otp → claims of the
 * access token, decoded here (base64url JSON, not verified: that is the
 * backend's job). Every error shows the problem+json `detail` under the field
 * of the form that was submitted, and that field gets aria-invalid and focus.
 * After a send it dispatches `otp:sent` on document, and on "Change number"
 * or "Start over" `otp:reset`; the dev outbox panel (outbox-script.ts,
 * console provider only) listens for both. An answer that arrives after the
 * person started over is dropped (`generation`).
 *
 * Plain ES2017 in a string: no build step, no modules, and nothing that would
 * need a looser policy (no eval, no innerHTML, no inline handlers or styles).
 */
export const PAGE_SCRIPT = `
(function () {
  "use strict";
  var byId = function (id) { return document.getElementById(id); };
  var phoneForm = byId("phone-form"), phoneInput = byId("phone"), phoneError = byId("phone-error"), sendButton = byId("send");
  var codeForm = byId("code-form"), codeInput = byId("code"), codeError = byId("code-error"), verifyButton = byId("verify");
  var sentNote = byId("sent-note"), resendButton = byId("resend"), changeButton = byId("change-number");
  var success = byId("success"), successTitle = byId("success-title"), expiry = byId("expiry");
  var firebase = byId("firebase"), claimsList = byId("claims"), tokenBox = byId("token"), restartButton = byId("restart");

  var phone = "", verificationId = "";
  var busy = false;
  var generation = 0;
  var countdown = 0, resendAt = 0;

  function setError(input, slot, text) {
    slot.textContent = text;
    if (text) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }

  function setBusy(button, label) {
    if (!button.dataset.label) button.dataset.label = button.textContent;
    busy = Boolean(label);
    button.textContent = label || button.dataset.label;
    if (label) button.setAttribute("aria-disabled", "true");
    else button.removeAttribute("aria-disabled");
  }

  async function post(path, body) {
    var res;
    try {
      res = await fetch(path, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, application/problem+json" },
        body: JSON.stringify(body)
      });
    } catch (e) {
      return { ok: false, data: { detail: "The service could not be reached. Check your connection and try again." }, retryAfter: 0 };
    }
    var data = {};
    try { data = await res.json(); } catch (e) { data = {}; }
    if (!data || typeof data !== "object") data = {};
    if (!res.ok && typeof data.detail !== "string") {
      data = { detail: "Something went wrong (HTTP " + res.status + "). Try again." };
    }
    return { ok: res.ok, data: data, retryAfter: Number(res.headers.get("retry-after")) || 0 };
  }

  function tick() {
    var left = Math.ceil((resendAt - Date.now()) / 1000);
    if (left > 0) {
      resendButton.disabled = true;
      resendButton.textContent = "Resend in " + left + " s";
    } else {
      clearInterval(countdown);
      resendButton.disabled = false;
      resendButton.textContent = "Resend code";
    }
  }

  function startCountdown(seconds) {
    clearInterval(countdown);
    resendAt = Date.now() + Math.max(0, Number(seconds) || 0) * 1000;
    tick();
    countdown = setInterval(tick, 250);
  }

  function show(view) {
    phoneForm.hidden = view !== phoneForm;
    codeForm.hidden = view !== codeForm;
    success.hidden = view !== success;
  }

  async function send(again) {
    if (busy) return;
    var input = again ? codeInput : phoneInput, slot = again ? codeError : phoneError;
    var button = again ? resendButton : sendButton;
    var mine = generation;
    setBusy(button, "Sending…");
    var result = await post("/send-otp", { phone: again ? phone : phoneInput.value });
    setBusy(button, "");
    if (mine !== generation) return;
    if (!result.ok) {
      // A refused resend is not the code's fault: say why next to the code, without marking it invalid.
      if (again) slot.textContent = result.data.detail;
      else setError(input, slot, result.data.detail);
      if (again) {
        if (result.retryAfter) startCountdown(result.retryAfter);
        else tick();
      }
      input.focus();
      return;
    }
    phone = result.data.phone;
    // The new code is checked only together with its verification_id; an older code stays live under its own.
    verificationId = result.data.verification_id;
    setError(phoneInput, phoneError, "");
    setError(codeInput, codeError, "");
    sentNote.textContent = (again ? "We sent a new code to " : "We sent a code to ") + phone + ".";
    codeInput.value = "";
    show(codeForm);
    startCountdown(result.data.resend_after);
    codeInput.focus();
    document.dispatchEvent(new CustomEvent("otp:sent", { detail: { phone: phone } }));
  }

  async function verify() {
    if (busy) return;
    var mine = generation;
    setBusy(verifyButton, "Checking…");
    var result = await post("/verify-otp", { phone: phone, otp: codeInput.value.replace(/\\s+/g, ""), verification_id: verificationId });
    setBusy(verifyButton, "");
    if (mine !== generation) return;
    if (!result.ok) {
      setError(codeInput, codeError, result.data.detail);
      codeInput.focus();
      codeInput.select();
      return;
    }
    showSignedIn(result.data);
  }

  function decodePayload(token) {
    var part = String(token).split(".")[1] || "";
    var b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var binary = atob(b64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return JSON.parse(new TextDecoder().decode(bytes));
  }

  function describeTime(seconds) {
    return new Date(seconds * 1000).toLocaleString();
  }

  function addClaim(name, value) {
    var dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = name;
    dd.textContent = value;
    claimsList.append(dt, dd);
  }

  function showSignedIn(data) {
    clearInterval(countdown);
    claimsList.replaceChildren();
    var claims = null;
    try { claims = decodePayload(data.access_token); } catch (e) { claims = null; }
    if (claims && typeof claims === "object") {
      Object.keys(claims).forEach(function (name) {
        var value = claims[name];
        var text = typeof value === "string" ? value : JSON.stringify(value);
        if ((name === "iat" || name === "exp" || name === "nbf") && typeof value === "number") {
          text += " (" + describeTime(value) + ")";
        }
        addClaim(name, text);
      });
    } else {
      addClaim("error", "The token's payload could not be decoded.");
    }
    var exp = claims && typeof claims.exp === "number" ? claims.exp : Date.now() / 1000 + (Number(data.expires_in) || 0);
    var minutes = Math.max(0, Math.round(exp - Date.now() / 1000) / 60);
    expiry.textContent = "The token expires at " + describeTime(exp) + " (in " +
      (minutes >= 1 ? Math.round(minutes) + " min" : "under a minute") + ").";
    var hasFirebase = typeof data.firebase_token === "string" && data.firebase_token !== "";
    firebase.hidden = !hasFirebase;
    firebase.textContent = hasFirebase ? "A Firebase custom token is included (" + data.firebase_token.length + " characters)." : "";
    tokenBox.value = String(data.access_token || "");
    show(success);
    successTitle.focus();
  }

  function startOver() {
    generation += 1;
    clearInterval(countdown);
    phone = "";
    verificationId = "";
    codeInput.value = "";
    tokenBox.value = "";
    claimsList.replaceChildren();
    setError(phoneInput, phoneError, "");
    setError(codeInput, codeError, "");
    show(phoneForm);
    phoneInput.focus();
    phoneInput.select();
    document.dispatchEvent(new CustomEvent("otp:reset"));
  }

  phoneForm.addEventListener("submit", function (event) { event.preventDefault(); send(false); });
  codeForm.addEventListener("submit", function (event) { event.preventDefault(); verify(); });
  resendButton.addEventListener("click", function () { send(true); });
  changeButton.addEventListener("click", startOver);
  restartButton.addEventListener("click", startOver);
})();
`;
