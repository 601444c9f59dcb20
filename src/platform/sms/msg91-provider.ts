import type { Settings } from "../../kernel/config/settings";
import { attemptTimeout, callGateway, failFor, jsonAnswer, unclearDelivery } from "./gateway-http";
import type { OtpMessage, SmsProvider } from "./sms-provider";

type Msg91Settings = Settings["msg91"];

/**
 * MSG91's error messages, matched loosely (its wording varies between
 * accounts and versions), in words a person can act on. The first match wins.
 * Only these words are logged, never MSG91's own text.
 */
const REASONS: { pattern: RegExp; reason: string; numberRefused?: true; retryable?: true }[] = [
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
 * `"type": "success"` (its HTTP status is not a reliable error signal, so the
 * body decides). The key travels only in the `authkey` header. The text is the
 * DLT template registered at MSG91, whose `##OTP##` the code fills: SMS only.
 */
export function createMsg91Provider(
  cfg: Msg91Settings,
  fetcher: typeof fetch = (input, init) => fetch(input, init),
): SmsProvider {
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
      if (response.ok && body.type === "success") return;
      const httpStatus = response.status;
      if (httpStatus >= 500) {
        // A proxy timeout or a server error after the gateway took the message: it may still arrive.
        throw fail({ delivery: "unknown", retryable: true, reason: "gateway server error", httpStatus });
      }
      const text = typeof body.message === "string" ? body.message : "";
      const known = body.type === "error" ? REASONS.find((r) => r.pattern.test(text)) : undefined;
      if (known) {
        throw fail({
          delivery: "not_sent",
          retryable: known.retryable ?? false,
          ...(known.numberRefused ? { numberRefused: true } : {}),
          reason: known.reason,
          httpStatus,
        });
      }
      if (httpStatus === 401 || httpStatus === 403) {
        throw fail({ delivery: "not_sent", retryable: false, reason: REASONS[0]!.reason, httpStatus });
      }
      throw fail({
        // Only an explicit error says nothing was sent; any other answer after a 2xx may hide a success.
        delivery: body.type === "error" ? "not_sent" : unclearDelivery(httpStatus),
        retryable: httpStatus === 429 || response.ok,
        reason: "refused without a known error message",
        httpStatus,
      });
    },
  };
}
