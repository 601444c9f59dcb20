import { SmsFailedError, type SmsFailure } from "../../kernel/errors/service-error";

/** What a gateway answered: its status, and its body as text and, when it is JSON, parsed. */
export interface GatewayAnswer {
  response: Response;
  text: string;
}

/**
 * One HTTP call to a gateway with a deadline. A timeout or a lost connection
 * is `unknown` (the message may have gone out). The reason names only the
 * error's kind, never the URL (2Factor's holds the key) or the request.
 */
export async function callGateway(
  fetcher: typeof fetch,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  fail: (failure: Omit<SmsFailure, "gateway">) => SmsFailedError,
): Promise<GatewayAnswer> {
  try {
    // No redirects: a key in a header or the path must never follow one to another host.
    const response = await fetcher(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
    return { response, text: await response.text() };
  } catch (err) {
    const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
    throw fail({
      delivery: "unknown",
      retryable: true,
      reason: timedOut ? `no answer within ${timeoutMs} ms` : `network error: ${errorName(err)}`,
    });
  }
}

/**
 * What an answer that is neither a success nor an explicit, documented error
 * means: after a 2xx or a 5xx (a proxy timeout, say) the message may have
 * gone out and been billed, so it is `unknown` (the send stays counted);
 * otherwise (3xx, 4xx) it was not sent.
 */
export function unclearDelivery(status: number): "unknown" | "not_sent" {
  return (status >= 200 && status < 300) || status >= 500 ? "unknown" : "not_sent";
}

/** Parses a JSON object answer; a body that is not JSON is `unknown` after a 2xx or 5xx (it may have been sent), else `not_sent`. */
export function jsonAnswer(
  answer: GatewayAnswer,
  fail: (failure: Omit<SmsFailure, "gateway">) => SmsFailedError,
): Record<string, unknown> {
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    throw fail({
      delivery: unclearDelivery(answer.response.status),
      retryable: true,
      reason: "answer is not JSON",
      httpStatus: answer.response.status,
    });
  }
  return isObject(body) ? body : {};
}

export const failFor =
  (gateway: string) =>
  (failure: Omit<SmsFailure, "gateway">): SmsFailedError =>
    new SmsFailedError({ gateway, ...failure });

/** The deadline of one attempt: the gateway's own timeout, cut to what is left of the send's deadline. */
export const attemptTimeout = (own: number, left: number | undefined) => Math.max(1, Math.min(own, left ?? own));

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}

/** A gateway's error message the service recognises, in its own words (the vendor's text is never logged). */
export interface KnownReason {
  pattern: RegExp;
  reason: string;
  numberRefused?: true;
  retryable?: true;
}

/**
 * Why a gateway whose answers carry an error message (MSG91, 2Factor) did
 * not accept a message: a 5xx is `unknown` (it may have taken it); an
 * explicit error is `not_sent`, with the reason its message matches; a 401 or
 * 403 without one is `authFailure`; anything else after a 2xx is `unknown`,
 * since only an explicit error says nothing was sent.
 */
export function refusal(
  httpStatus: number,
  explicitError: boolean,
  message: string,
  reasons: readonly KnownReason[],
  authFailure?: KnownReason,
): Omit<SmsFailure, "gateway"> {
  if (httpStatus >= 500) return { delivery: "unknown", retryable: true, reason: "gateway server error", httpStatus };
  const known =
    (explicitError ? reasons.find((r) => r.pattern.test(message)) : undefined) ??
    (httpStatus === 401 || httpStatus === 403 ? authFailure : undefined);
  if (known) {
    return {
      delivery: "not_sent",
      retryable: known.retryable ?? false,
      ...(known.numberRefused ? { numberRefused: true } : {}),
      reason: known.reason,
      httpStatus,
    };
  }
  return {
    delivery: explicitError ? "not_sent" : unclearDelivery(httpStatus),
    retryable: httpStatus === 429 || (httpStatus >= 200 && httpStatus < 300),
    reason: "refused without a known error message",
    httpStatus,
  };
}
