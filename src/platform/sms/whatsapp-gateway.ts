import type { Settings } from "../../kernel/config/settings";
import { SmsFailedError } from "../../kernel/errors/service-error";
import { log } from "../../kernel/log/log";
import { sendWhatsAppCode, WhatsAppSendError } from "../whatsapp/whatsapp-send";
import type { OtpMessage, SendOptions, SmsAccepted, SmsGateway } from "./sms-gateway";

export type WhatsAppSettings = NonNullable<Settings["whatsapp"]>;

/**
 * WhatsApp as a gateway of the `whatsapp` channel (the Cloud API's
 * authentication template, platform/whatsapp/whatsapp-send.ts), so the
 * failover tries it first and then the SMS gateways with the same code.
 * Its failures as the failover reads them:
 * - `recipient_unreachable` (131026, 131047, 131049): not sent, the gateway
 *   works (its breaker stays closed); the send goes on to SMS.
 * - `misconfigured` (132001, 132015, 132016, 190, a 401): not sent; logged
 *   as `whatsapp.misconfigured` with the settings to check; on to SMS.
 * - `unknown` (timeout, 5xx, an unreadable answer): like an SMS gateway's
 *   unknown outcome, the message may arrive; on to SMS.
 * - 131056 (too many messages to this number in a short time): not sent,
 *   and the chain stops, as for Fast2SMS's repeated-message refusal: an SMS
 *   would get round WhatsApp's check on messages to one person.
 * - `refused` (anything else): not sent; on to SMS.
 * The access token is only ever in the request's Authorization header.
 */
export function createWhatsAppGateway(settings: WhatsAppSettings): SmsGateway {
  return {
    name: "whatsapp",
    channels: ["whatsapp"],
    async send(message: OtpMessage, options?: SendOptions): Promise<SmsAccepted> {
      try {
        const { messageId } = await sendWhatsAppCode({
          baseUrl: settings.baseUrl,
          apiVersion: settings.apiVersion,
          phoneNumberId: settings.phoneNumberId,
          accessToken: settings.accessToken,
          templateName: settings.templateName,
          language: settings.language,
          to: message.to.e164,
          code: message.code,
          timeoutMs: Math.min(settings.timeoutMs, options?.timeoutMs ?? settings.timeoutMs),
        });
        return { messageId };
      } catch (err) {
        if (!(err instanceof WhatsAppSendError)) throw err;
        if (err.kind === "misconfigured") {
          log("whatsapp.misconfigured", {
            to: message.to,
            check: [...err.settings],
            provider_code: err.code,
            http_status: err.httpStatus,
            fbtrace_id: err.fbtraceId,
          });
        }
        throw new SmsFailedError({
          gateway: "whatsapp",
          delivery: err.kind === "unknown" ? "unknown" : "not_sent",
          retryable: err.retryable,
          ...(err.kind === "recipient_unreachable" ? { channelUnreachable: true } : {}),
          ...(err.code === PAIR_RATE_LIMIT ? { recipientLimited: true } : {}),
          reason: err.message,
          ...(err.httpStatus === undefined ? {} : { httpStatus: err.httpStatus }),
          ...(err.code === undefined ? {} : { gatewayCode: err.code }),
        });
      }
    },
  };
}

/** WhatsApp's "pair rate limit": too many messages from this business number to this person just now. */
const PAIR_RATE_LIMIT = 131056;
