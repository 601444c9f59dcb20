// @ts-check: the dev outbox panel (console provider only), inlined as text; see ../outbox-script.ts.
(function () {
  "use strict";
  var message = document.getElementById("outbox-message");
  var meta = document.getElementById("outbox-meta");
  var latest = 0;
  var idle = message.textContent;
  document.addEventListener("otp:reset", function () {
    latest += 1;
    message.textContent = idle;
    meta.textContent = "";
  });
  document.addEventListener("otp:sent", async function (/** @type {CustomEvent<{ phone: string }>} */ event) {
    var phone = event.detail && event.detail.phone;
    var mine = ++latest;
    message.textContent = "Reading the outbox…";
    meta.textContent = "";
    var text = "",
      note = "";
    try {
      var res = await fetch(`/dev/outbox?phone=${encodeURIComponent(phone)}`, {
        headers: { accept: "application/json" },
      });
      var data = await res.json();
      var last = res.ok && data && Array.isArray(data.messages) ? data.messages[0] : undefined;
      if (last) {
        text = String(last.text);
        note = `To ${last.to} at ${new Date(last.sent_at).toLocaleTimeString()}.`;
      } else {
        text = res.ok
          ? `No message to ${phone} yet.`
          : String((data && data.detail) || "The outbox could not be read.");
      }
    } catch {
      text = "The outbox could not be read.";
    }
    if (mine !== latest) return;
    message.textContent = text;
    meta.textContent = note;
  });
})();
