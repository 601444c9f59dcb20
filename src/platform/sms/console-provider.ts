import { maskPhone } from "../../kernel/phone/mask-phone";
import { addToOutbox } from "./outbox-store";
import { otpText, type SmsProvider } from "./sms-provider";

/** Local development: sends nothing, keeps the text in the dev outbox, logs only the masked number. */
export function createConsoleProvider(): SmsProvider {
  return {
    name: "console",
    async send(message) {
      addToOutbox({ to: message.to.e164, text: otpText(message), sent_at: new Date().toISOString() });
      console.log(
        JSON.stringify({ event: "sms.outbox", to: maskPhone(message.to.e164), note: "read it at GET /dev/outbox" }),
      );
    },
  };
}
