import { log } from "../../kernel/log/log";
import { addToOutbox } from "./outbox-store";
import { channelOf, otpText, type SmsGateway } from "./sms-gateway";

/** Local development: sends nothing, keeps the text in the dev outbox, logs only the masked number. Both channels, so a voice call can be tried locally. */
export function createConsoleGateway(): SmsGateway {
  return {
    name: "console",
    channels: ["sms", "voice"],
    async send(message) {
      const text =
        channelOf(message) === "voice"
          ? `(voice call) ${otpText({ ...message, autofill: undefined })}`
          : otpText(message);
      addToOutbox({ to: message.to.e164, text, sent_at: new Date().toISOString() });
      log("sms.outbox", { to: message.to, note: "read it at GET /dev/outbox" });
    },
  };
}
