import type { GatewaySettings } from "../../kernel/config/settings";
import { log } from "../../kernel/log/log";
import { addToOutbox, markOutbox } from "./outbox-store";
import { channelOf, otpText, type SmsGateway } from "./sms-gateway";

/** How long after a send the console gateway's made-up delivery report arrives. */
export const CONSOLE_REPORT_AFTER_MS = 1000;

/**
 * Local development: sends nothing, keeps the text in the dev outbox, logs
 * only the masked number. Both channels, so a voice call can be tried
 * locally. Each message gets an id of its own, and unless CONSOLE_DELIVERY
 * is silent, the send's background work records a made-up delivery report
 * for it (delivered or failed) CONSOLE_REPORT_AFTER_MS later, as a gateway's
 * webhook would, so /verification-status can be tried without a gateway.
 */
export function createConsoleGateway(cfg: GatewaySettings["console"]): SmsGateway {
  return {
    name: "console",
    channels: ["sms", "voice"],
    async send(message) {
      // The console gateway never sees whatsapp (it delivers on sms and voice only).
      const channel = channelOf(message) === "voice" ? "voice" : "sms";
      const text =
        channel === "voice" ? `(voice call) ${otpText({ ...message, autofill: undefined })}` : otpText(message);
      const messageId = `console-${crypto.randomUUID()}`;
      addToOutbox({
        to: message.to.e164,
        text,
        sent_at: new Date().toISOString(),
        channel,
        status: "pending",
        messageId,
      });
      log("sms.outbox", { to: message.to, note: "read it at GET /dev/outbox" });
      if (cfg.delivery === "silent") return { messageId };
      const status = cfg.delivery;
      return {
        messageId,
        simulatedReport: {
          status,
          ...(status === "failed" ? { reason: "console: CONSOLE_DELIVERY is failed" } : {}),
          afterMs: CONSOLE_REPORT_AFTER_MS,
          recorded: () => markOutbox(messageId, status),
        },
      };
    },
  };
}
