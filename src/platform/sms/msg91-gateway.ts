import type { GatewaySettings } from "../../kernel/config/settings";
import { attemptTimeout, callGateway, failFor, jsonAnswer, type KnownReason, refusal } from "./gateway-http";
import { messageIdFrom, type OtpMessage, type SmsGateway } from "./sms-gateway";

type Msg91Settings = GatewaySettings["msg91"];

/**
 * MSG91's error messages, matched loosely (its wording varies between
 * accounts and versions), in words a person can act on. The first match wins.
 * Only these words are logged, never MSG91's own text.
 */
const REASONS: KnownReason[] = [
  { pattern: /auth ?key|authenticat|unauthori[sz]ed/i, reason: "the gateway rejected the service's auth key" },
  { pattern: /balance|credit|recharge/i, reason: "the gateway account has insufficient balance" },
  { pattern: /template/i, reason: "the OTP template is missing, invalid or not approved at the gateway" },
  { pattern: /\bip\b|whitelist/i, reason: "the service's IP address is not allowed by the gateway" },
  {
    // Only a refusal that names the recipient as invalid; "verify your mobile number" is the account's trouble.
    pattern: /invalid (mobile|number|msisdn|phone)|(mobile|msisdn|phone)( no\.?| number)? (is )?(not valid|invalid)/i,
    reason: "the phone number was refused by the gateway",
    numberRefused: true,
  },
  { pattern: /block|suspend|disabled|inactive|banned|expired/i, reason: "the gateway account is disabled" },
  {
    pattern: /too many|limit|throttl/i,
    reason: "the gateway's rate limit was reached",
    retryable: true,
  },
];

/** The request for MSG91's OTP API v5 (our own code, `91` + the national number); the key is not in it. */
export function msg91Url(cfg: Msg91Settings, message: OtpMessage): string {
  const query = new URLSearchParams({
    template_id: cfg.templateId ?? "",
    mobile: `91${message.to.national}`,
    otp: message.code,
  });
  return `${cfg.baseUrl}/api/v5/otp?${query}`;
}

/**
 * MSG91 OTP API v5 over fetch: `POST /api/v5/otp` with our code. A send
 * succeeds only when the HTTP status is 2xx and the JSON says
 * `"type": "success"`, whose `request_id` the delivery reports name (its HTTP status is not a reliable error signal, so the
 * body decides). The key travels only in the `authkey` header. The text is the
 * DLT template registered at MSG91, whose `##OTP##` the code fills: SMS only.
 */
export function createMsg91Gateway(
  cfg: Msg91Settings,
  fetcher: typeof fetch = (input, init) => fetch(input, init),
): SmsGateway {
  const fail = failFor("msg91");
  return {
    name: "msg91",
    channels: ["sms"],
    async send(message, options) {
      const answer = await callGateway(
        fetcher,
        msg91Url(cfg, message),
        {
          method: "POST",
          headers: { authkey: cfg.authKey ?? "", "content-type": "application/json", accept: "application/json" },
          body: "{}",
        },
        attemptTimeout(cfg.timeoutMs, options?.timeoutMs),
        fail,
      );
      const { response } = answer;
      const body = jsonAnswer(answer, fail);
      if (response.ok && body.type === "success") return { messageId: messageIdFrom(body.request_id) };
      const errorText = typeof body.message === "string" ? body.message : "";
      throw fail(refusal(response.status, body.type === "error", errorText, REASONS, REASONS[0]));
    },
  };
}
