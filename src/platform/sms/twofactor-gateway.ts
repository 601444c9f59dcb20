import type { GatewaySettings } from "../../kernel/config/settings";
import { attemptTimeout, callGateway, failFor, jsonAnswer, type KnownReason, refusal } from "./gateway-http";
import { channelOf, messageIdFrom, type OtpMessage, type SmsGateway } from "./sms-gateway";

type TwoFactorSettings = GatewaySettings["twofactor"];

/**
 * 2Factor's `Details` on an error, matched loosely, in words a person can
 * act on; the first match wins. Only these words are logged, never 2Factor's
 * text (it could echo the request).
 */
const REASONS: KnownReason[] = [
  { pattern: /api ?key|authenticat|unauthori[sz]ed/i, reason: "the gateway rejected the service's API key" },
  { pattern: /balance|credit|recharge/i, reason: "the gateway account has insufficient balance" },
  { pattern: /template/i, reason: "the SMS template is missing, invalid or not approved at the gateway" },
  { pattern: /\bip\b|whitelist/i, reason: "the service's IP address is not allowed by the gateway" },
  {
    // Only a refusal that names the recipient as invalid, not any message that mentions a number.
    pattern: /invalid (phone|mobile|number)|(phone|mobile)( no\.?| number)? (is )?(not valid|invalid)/i,
    reason: "the phone number was refused by the gateway",
    numberRefused: true,
  },
  { pattern: /block|suspend|disabled|inactive|banned|expired/i, reason: "the gateway account is disabled" },
  { pattern: /too many|limit|throttl/i, reason: "the gateway's rate limit was reached", retryable: true },
  { pattern: /otp/i, reason: "the gateway refused the code's format" },
];

/**
 * The request path. It holds the API key, so it is never logged, put in an
 * error, or echoed: only callGateway sees it, and its failures name the error's
 * kind alone.
 */
export function twoFactorUrl(cfg: TwoFactorSettings, message: OtpMessage): string {
  const kind = channelOf(message) === "voice" ? "VOICE" : "SMS";
  const parts = [cfg.apiKey ?? "", kind, `91${message.to.national}`, message.code];
  if (kind === "SMS" && cfg.templateName) parts.push(cfg.templateName);
  return `${cfg.baseUrl}/API/V1/${parts.map(encodeURIComponent).join("/")}`;
}

/**
 * 2Factor over fetch: `GET /API/V1/{key}/SMS/{phone}/{otp}[/{template}]`, or
 * `…/VOICE/{phone}/{otp}` for a call that speaks the digits, with our own
 * code. A send succeeds only when the HTTP status is 2xx and the JSON says
 * `"Status": "Success"`; its `Details` is then the session id, which the
 * delivery reports name as `SessionId`.
 */
export function createTwoFactorGateway(
  cfg: TwoFactorSettings,
  fetcher: typeof fetch = (input, init) => fetch(input, init),
): SmsGateway {
  const fail = failFor("twofactor");
  return {
    name: "twofactor",
    channels: ["sms", "voice"],
    async send(message, options) {
      const answer = await callGateway(
        fetcher,
        twoFactorUrl(cfg, message),
        { method: "GET", headers: { accept: "application/json" } },
        attemptTimeout(cfg.timeoutMs, options?.timeoutMs),
        fail,
      );
      const { response } = answer;
      const body = jsonAnswer(answer, fail);
      if (response.ok && body.Status === "Success") return { messageId: messageIdFrom(body.Details) };
      const details = typeof body.Details === "string" ? body.Details : "";
      throw fail(refusal(response.status, body.Status === "Error", details, REASONS));
    },
  };
}
