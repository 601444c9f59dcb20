import type { GatewaySettings } from "../../kernel/config/settings";
import { attemptTimeout, callGateway, failFor, jsonAnswer, unclearDelivery } from "./gateway-http";
import { messageIdFrom, type OtpMessage, otpText, type SmsGateway } from "./sms-gateway";

/** Fast2SMS's documented error codes, in words a person can act on (shared/reference/fast2sms.md). */
const REASONS: Record<number, string> = {
  401: "the sender id is missing",
  402: "the message text is missing",
  403: "the route is missing",
  404: "the language is missing",
  405: "the numbers are missing",
  406: "the sender id is invalid",
  407: "the message contains words the gateway does not allow",
  408: "the route is invalid",
  409: "the account may not use this route",
  410: "the language is invalid",
  411: "the phone number was refused by the gateway",
  412: "the gateway rejected the service's API key",
  413: "the service's API key is disabled at the gateway",
  414: "the service's IP address is blocked by the gateway",
  415: "the gateway account is disabled",
  416: "the gateway account has insufficient balance",
  417: "the message needs a different language setting",
  424: "the DLT message id is invalid",
  425: "the DLT template is invalid",
  426: "the message contains a link the gateway does not allow",
  500: "the DLT template or sender id is blacklisted",
  990: "the service called an outdated gateway API",
  995: "the gateway detected repeated messages to this number",
  996: "the gateway account must complete KYC before using the OTP route",
  997: "the OTP route accepts digits only",
  998: "the gateway requires the DLT or quick route for this message",
  999: "the gateway account needs its first top-up",
};

type Fast2SmsSettings = GatewaySettings["fast2sms"];

/** The JSON body for `POST /dev/bulkV2` on the configured route. */
export function fast2smsBody(cfg: Fast2SmsSettings, message: OtpMessage): Record<string, string> {
  const numbers = message.to.national;
  switch (cfg.route) {
    case "otp":
      return { route: "otp", variables_values: message.code, numbers };
    case "q":
      return { route: "q", message: otpText(message), numbers };
    case "dlt":
      return {
        route: "dlt",
        sender_id: cfg.senderId ?? "",
        message: cfg.templateId ?? "",
        // With OTP_WEB_DOMAIN the registered template has the code twice: in its text and in `@host #{#var#}`.
        variables_values: message.autofill?.webDomain ? `${message.code}|${message.code}` : message.code,
        numbers,
      };
  }
}

/** Codes a retry in a few minutes cannot fix: the number itself, spam protection, or the operator's account and setup. */
const NUMBER_REFUSED = 411;
/** Repeated messages to this number: the recipient's limit at the gateway, not the gateway's trouble. */
const REPEATED_TO_NUMBER = 995;

/**
 * Fast2SMS bulkV2 over fetch. A send succeeds only when the HTTP status is 2xx
 * and the JSON body says `"return": true` (its `request_id` is the message's
 * id, which the delivery reports name); everything else throws
 * SmsFailedError with a SmsFailure for the log (the client sees only whether
 * a retry may help). A timeout, a lost connection or an unreadable 2xx answer
 * is `unknown`: the message may have gone out. The API key travels only in
 * the `authorization` header and appears in no message.
 */
export function createFast2SmsGateway(
  cfg: Fast2SmsSettings,
  fetcher: typeof fetch = (input, init) => fetch(input, init),
): SmsGateway {
  const url = `${cfg.baseUrl}/dev/bulkV2`;
  const apiKey = cfg.apiKey ?? "";
  const fail = failFor("fast2sms");
  return {
    name: "fast2sms",
    channels: ["sms"],
    async send(message, options) {
      const answer = await callGateway(
        fetcher,
        url,
        {
          method: "POST",
          headers: { authorization: apiKey, "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify(fast2smsBody(cfg, message)),
        },
        attemptTimeout(cfg.timeoutMs, options?.timeoutMs),
        fail,
      );
      const { response } = answer;
      const result = jsonAnswer(answer, fail);
      if (response.ok && result.return === true) return { messageId: messageIdFrom(result.request_id) };
      const gatewayCode = Number(result.status_code);
      const reason = REASONS[gatewayCode];
      if (reason !== undefined) {
        throw fail({
          delivery: "not_sent",
          retryable: false,
          numberRefused: gatewayCode === NUMBER_REFUSED,
          recipientLimited: gatewayCode === REPEATED_TO_NUMBER,
          reason,
          httpStatus: response.status,
          gatewayCode,
        });
      }
      throw fail({
        delivery: unclearDelivery(response.status),
        retryable: response.status >= 500 || response.status === 429 || response.ok,
        reason: response.status >= 500 ? "gateway server error" : "refused without a known error code",
        httpStatus: response.status,
      });
    },
  };
}
