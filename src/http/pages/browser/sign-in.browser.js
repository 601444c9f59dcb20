// @ts-check: the sign-in page (GET /), inlined as text and allowed by its CSP hash; see ../page-script.ts.
(function () {
  "use strict";
  /** The page's elements, by id; typed loosely (any), since each is a different kind of element. @param {string} id @returns {any} */
  var byId = function (id) {
    return document.getElementById(id);
  };
  var phoneForm = byId("phone-form"),
    phoneInput = byId("phone"),
    phoneError = byId("phone-error"),
    sendButton = byId("send"),
    whatsappButton = byId("send-whatsapp"),
    voiceButton = byId("send-voice"),
    codeLabel = byId("code-label");
  var codeForm = byId("code-form"),
    codeInput = byId("code"),
    codeError = byId("code-error"),
    verifyButton = byId("verify");
  var sentNote = byId("sent-note"),
    deliveryNote = byId("delivery"),
    resendButton = byId("resend"),
    changeButton = byId("change-number");
  var success = byId("success"),
    successTitle = byId("success-title"),
    expiry = byId("expiry");
  var firebase = byId("firebase"),
    claimsList = byId("claims"),
    tokenBox = byId("token"),
    restartButton = byId("restart");
  var sessionNote = byId("session-note"),
    refreshButton = byId("refresh"),
    signOutButton = byId("sign-out");
  var sessionError = byId("session-error"),
    sessionList = byId("sessions");
  var refreshToken = "",
    accessToken = "";

  var phone = "",
    verificationId = "";
  var busy = false;
  var generation = 0;
  var countdown = 0,
    resendAt = 0;
  /** The channels whose messages get delivery reports (the markup says): only their sends are followed. */
  var followed = String(document.querySelector("main").getAttribute("data-followed") || "").split(" ");

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
    return call(path, { method: "POST", body: JSON.stringify(body) });
  }

  async function call(path, init) {
    var res;
    var headers = { accept: "application/json, application/problem+json" };
    if (init.body) headers["content-type"] = "application/json";
    if (init.bearer) headers.authorization = `Bearer ${init.bearer}`;
    try {
      res = await fetch(path, { method: init.method, headers: headers, body: init.body });
    } catch (_e) {
      return {
        ok: false,
        data: { detail: "The service could not be reached. Check your connection and try again." },
        retryAfter: 0,
      };
    }
    var data = {};
    if (res.status !== 204) {
      try {
        data = await res.json();
      } catch (_e) {
        data = {};
      }
    }
    if (!data || typeof data !== "object") data = {};
    if (!res.ok && typeof data.detail !== "string") {
      data = { detail: `Something went wrong (HTTP ${res.status}). Try again.` };
    }
    return { ok: res.ok, data: data, retryAfter: Number(res.headers.get("retry-after")) || 0 };
  }

  function tick() {
    var left = Math.ceil((resendAt - Date.now()) / 1000);
    if (left > 0) {
      resendButton.disabled = true;
      resendButton.textContent = `Resend in ${left} s`;
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

  /** The channel asked for by the first send (a resend asks for the same): sms, whatsapp or voice. */
  var channel = "sms";

  /** Where the code field's code comes from. @param {string} on */
  function codeSource(on) {
    return on === "whatsapp" ? "Code from WhatsApp" : on === "voice" ? "Code from the call" : "Code from the SMS";
  }

  /** How a message went out, for the delivery status. @param {string} on */
  function by(on) {
    return on === "whatsapp" ? "on WhatsApp" : on === "voice" ? "by call" : "by SMS";
  }

  /**
   * The delivery status of the code (an answer of /verification-status): what
   * went out, whether it arrived, and any fallback to the next route.
   */
  function showDelivery(data) {
    var messages = Array.isArray(data.messages) ? data.messages : [];
    var latest = messages[messages.length - 1];
    if (!latest) {
      deliveryNote.textContent = "";
      return;
    }
    var delivered = messages.filter(function (m) {
      return m.status === "delivered";
    })[0];
    var text;
    if (data.status === "delivered" && delivered) text = `Delivered ${by(delivered.channel)}.`;
    else if (data.status === "failed") text = `Not delivered ${by(latest.channel)}. Check the number, or resend.`;
    else if (latest.status === "failed") text = `Not delivered ${by(latest.channel)}. Trying again…`;
    else if (messages.length > 1) {
      text = `Not delivered ${by(messages[messages.length - 2].channel)}. Sent again ${by(latest.channel)}…`;
    } else text = latest.channel === "voice" ? "Calling you…" : `Sent ${by(latest.channel)}…`;
    deliveryNote.textContent = text;
    deliveryNote.dataset.status = String(data.status);
    codeLabel.textContent = codeSource((delivered || latest).channel);
  }

  /**
   * Polls: every 3 s for the code's first minute, then every 10 s, at most 50
   * times (the service answers 60 reads a code), never past the code's life.
   */
  var POLL_FAST_MS = 3000,
    POLL_SLOW_MS = 10000,
    POLL_FAST_COUNT = 20,
    POLL_MAX = 50;
  var pollTimer = 0;

  function stopPolling() {
    clearTimeout(pollTimer);
    pollTimer = 0;
  }

  /** Shows and follows the delivery of the code just sent, while it is pending. @param {string} first @param {number} expiresIn */
  function followDelivery(first, expiresIn) {
    stopPolling();
    deliveryNote.textContent = "";
    delete deliveryNote.dataset.status;
    if (followed.indexOf(first) < 0) return;
    showDelivery({ status: "pending", messages: [{ channel: first, status: "pending" }] });
    var id = verificationId,
      mine = generation,
      polls = 0;
    var until = Date.now() + Math.max(0, Number(expiresIn) || 0) * 1000;
    var next = function () {
      var wait = polls < POLL_FAST_COUNT ? POLL_FAST_MS : POLL_SLOW_MS;
      if (polls >= POLL_MAX || Date.now() + wait >= until) return;
      pollTimer = setTimeout(poll, wait);
    };
    var poll = async function () {
      polls += 1;
      var result = await post("/verification-status", { phone: phone, verification_id: id });
      if (mine !== generation || id !== verificationId || codeForm.hidden) return;
      // Used, expired or read too often: the last status stays, and polling ends.
      if (!result.ok) return;
      showDelivery(result.data);
      if (result.data.status === "pending") next();
    };
    next();
  }

  /** @param {boolean} again @param {string} [on] */
  async function send(again, on) {
    if (busy) return;
    if (!again) channel = on || "sms";
    var input = again ? codeInput : phoneInput,
      slot = again ? codeError : phoneError;
    var button = again
      ? resendButton
      : channel === "whatsapp"
        ? whatsappButton
        : channel === "voice"
          ? voiceButton
          : sendButton;
    var mine = generation;
    setBusy(button, channel === "voice" && !again ? "Calling…" : "Sending…");
    var body = { phone: again ? phone : phoneInput.value };
    if (channel !== "sms") body.channel = channel;
    var result = await post("/send-otp", body);
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
    var first = String(result.data.channel || channel);
    sentNote.textContent =
      first === "voice"
        ? `We are calling ${phone} with ${again ? "a new code" : "your code"}.`
        : `${(again ? "We sent a new code to " : "We sent a code to ") + phone}${first === "whatsapp" ? " on WhatsApp" : ""}.`;
    codeLabel.textContent = codeSource(first);
    codeInput.value = "";
    show(codeForm);
    startCountdown(result.data.resend_after);
    followDelivery(first, result.data.expires_in);
    codeInput.focus();
    document.dispatchEvent(new CustomEvent("otp:sent", { detail: { phone: phone } }));
  }

  async function verify() {
    if (busy) return;
    var mine = generation;
    setBusy(verifyButton, "Checking…");
    var result = await post("/verify-otp", {
      phone: phone,
      otp: codeInput.value.replace(/\s+/g, ""),
      verification_id: verificationId,
    });
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
    var dt = document.createElement("dt"),
      dd = document.createElement("dd");
    dt.textContent = name;
    dd.textContent = value;
    claimsList.append(dt, dd);
  }

  function showSignedIn(data) {
    clearInterval(countdown);
    stopPolling();
    claimsList.replaceChildren();
    var claims = null;
    try {
      claims = decodePayload(data.access_token);
    } catch (_e) {
      claims = null;
    }
    if (claims && typeof claims === "object") {
      Object.keys(claims).forEach(function (name) {
        var value = claims[name];
        var text = typeof value === "string" ? value : JSON.stringify(value);
        if ((name === "iat" || name === "exp" || name === "nbf") && typeof value === "number") {
          text += ` (${describeTime(value)})`;
        }
        addClaim(name, text);
      });
    } else {
      addClaim("error", "The token's payload could not be decoded.");
    }
    var exp =
      claims && typeof claims.exp === "number" ? claims.exp : Date.now() / 1000 + (Number(data.expires_in) || 0);
    var minutes = Math.max(0, Math.round(exp - Date.now() / 1000) / 60);
    expiry.textContent =
      "The token expires at " +
      describeTime(exp) +
      " (in " +
      (minutes >= 1 ? `${Math.round(minutes)} min` : "under a minute") +
      ").";
    var hasFirebase = typeof data.firebase_token === "string" && data.firebase_token !== "";
    firebase.hidden = !hasFirebase;
    firebase.textContent = hasFirebase
      ? `A Firebase custom token is included (${data.firebase_token.length} characters).`
      : "";
    tokenBox.value = String(data.access_token || "");
    accessToken = String(data.access_token || "");
    refreshToken = String(data.refresh_token || "");
    sessionError.textContent = "";
    var days = Math.round((Number(data.refresh_expires_in) || 0) / 86400);
    sessionNote.textContent =
      "You stay signed in: the refresh token gets a new access token without another SMS. " +
      "Unless refreshed, the session ends in " +
      (days >= 1 ? `${days} days.` : "less than a day.");
    show(success);
    successTitle.focus();
    void loadSessions();
  }

  async function refreshSession() {
    if (busy || !refreshToken) return;
    var mine = generation;
    setBusy(refreshButton, "Refreshing…");
    var result = await post("/token/refresh", { refresh_token: refreshToken });
    setBusy(refreshButton, "");
    if (mine !== generation) return;
    if (!result.ok) {
      sessionError.textContent = result.data.detail;
      return;
    }
    showSignedIn(result.data);
    sessionNote.textContent =
      "Refreshed: a new access token and a new refresh token. " +
      sessionNote.textContent.replace(/^You stay signed in: [^.]*. /, "");
  }

  async function signOut() {
    if (busy) return;
    var mine = generation;
    setBusy(signOutButton, "Signing out…");
    var result = await post("/logout", { refresh_token: refreshToken });
    setBusy(signOutButton, "");
    if (mine !== generation) return;
    if (!result.ok) {
      sessionError.textContent = result.data.detail;
      return;
    }
    startOver();
    phoneError.textContent = "You are signed out.";
  }

  function when(iso) {
    return new Date(iso).toLocaleString();
  }

  async function loadSessions() {
    var mine = generation;
    var result = await call("/sessions", { method: "GET", bearer: accessToken });
    if (mine !== generation) return;
    sessionList.replaceChildren();
    if (!result.ok || !Array.isArray(result.data.sessions)) {
      sessionError.textContent = result.data.detail || "The sessions could not be loaded.";
      return;
    }
    result.data.sessions.forEach(function (s) {
      var li = document.createElement("li");
      li.className = "session";
      li.dataset.sessionId = String(s.id);
      var text = document.createElement("span");
      text.textContent =
        (s.current ? "This session" : "Another session") +
        (s.client ? ` · ${s.client}` : "") +
        " · started " +
        when(s.created_at) +
        " · last used " +
        when(s.last_used_at);
      li.append(text);
      if (!s.current) {
        var end = document.createElement("button");
        end.type = "button";
        end.className = "secondary";
        end.textContent = "End";
        end.addEventListener("click", function () {
          void endSession(String(s.id));
        });
        li.append(" ", end);
      }
      sessionList.append(li);
    });
  }

  async function endSession(id) {
    var mine = generation;
    var result = await call(`/sessions/${encodeURIComponent(id)}`, { method: "DELETE", bearer: accessToken });
    if (mine !== generation) return;
    if (!result.ok) sessionError.textContent = result.data.detail;
    void loadSessions();
  }

  function startOver() {
    generation += 1;
    clearInterval(countdown);
    stopPolling();
    phone = "";
    verificationId = "";
    codeInput.value = "";
    tokenBox.value = "";
    claimsList.replaceChildren();
    sessionList.replaceChildren();
    sessionError.textContent = "";
    refreshToken = "";
    accessToken = "";
    setError(phoneInput, phoneError, "");
    setError(codeInput, codeError, "");
    show(phoneForm);
    phoneInput.focus();
    phoneInput.select();
    document.dispatchEvent(new CustomEvent("otp:reset"));
  }

  phoneForm.addEventListener("submit", function (event) {
    event.preventDefault();
    void send(false);
  });
  codeForm.addEventListener("submit", function (event) {
    event.preventDefault();
    void verify();
  });
  if (whatsappButton) {
    whatsappButton.addEventListener("click", function () {
      void send(false, "whatsapp");
    });
  }
  if (voiceButton) {
    voiceButton.addEventListener("click", function () {
      void send(false, "voice");
    });
  }
  resendButton.addEventListener("click", function () {
    void send(true);
  });
  changeButton.addEventListener("click", startOver);
  restartButton.addEventListener("click", startOver);
  refreshButton.addEventListener("click", refreshSession);
  signOutButton.addEventListener("click", signOut);
})();
