import { ERROR_CATALOG, type ErrorCode } from "./error-catalog";

/**
 * Every failure the service reports to a client is one of these classes.
 * `code` is stable and machine-readable; `detail` is a sentence a person can
 * act on. Anything internal (a storage exception, a gateway's raw body) goes
 * in `cause`, which is logged by the error handler and never sent on the wire.
 * Each code's status and title come from error-catalog.ts. The mapping to
 * problem+json happens in exactly one place: http/core/on-error.ts.
 */
export abstract class ServiceError extends Error {
  abstract readonly code: ErrorCode;
  /** Extra members for the problem document (e.g. attempts_left). */
  readonly extensions: Record<string, unknown> = {};
  /** Seconds for a Retry-After header, when the client should come back later. */
  readonly retryAfter?: number;

  constructor(
    readonly detail: string,
    options?: { cause?: unknown; retryAfter?: number },
  ) {
    super(detail, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.retryAfter !== undefined) {
      this.retryAfter = Math.max(1, Math.ceil(options.retryAfter));
    }
  }

  get status(): number {
    return ERROR_CATALOG[this.code].status;
  }

  get title(): string {
    return ERROR_CATALOG[this.code].title;
  }
}

// `ServiceError(<code>)` in logs, however the bundle renamed the classes (wrangler.toml: keep_names = false).
Object.defineProperty(ServiceError.prototype, "name", {
  get(this: ServiceError) {
    return `ServiceError(${this.code})`;
  },
  configurable: true,
});

/** The catalog says these always carry Retry-After, so their constructors require it. */
abstract class RetryLaterError extends ServiceError {
  constructor(detail: string, options: { cause?: unknown; retryAfter: number }) {
    super(detail, options);
  }
}

/**
 * The base of each error class below: `Base` (its constructor too) with the
 * stable `code` the class carries, so a class that adds nothing else is one line.
 */
// biome-ignore lint/suspicious/noExplicitAny: a mixin's base must be constructible from any[] (TS2545)
function coded<C extends ErrorCode, B extends abstract new (...args: any[]) => ServiceError>(code: C, Base: B) {
  abstract class Coded extends Base {
    readonly code: C = code;
  }
  return Coded;
}

export class InvalidRequestError extends coded("invalid_request", ServiceError) {}

export class PayloadTooLargeError extends coded("payload_too_large", ServiceError) {}

export class InvalidPhoneError extends coded("invalid_phone", ServiceError) {}

export class CountryNotAllowedError extends coded("country_not_allowed", ServiceError) {}

/**
 * The one answer to every guess that is not evaluated: no id, an unknown id,
 * another number's id, or the id of a code that is expired, used or out of
 * tries. Its detail is fixed, so it tells nobody anything about the number.
 */
export class OtpNotFoundError extends coded("otp_not_found", ServiceError) {
  constructor() {
    super(
      "No code is waiting for this verification: it may have expired, been used, or run out of tries. Request a new code.",
    );
  }
}

export class OtpInvalidError extends coded("otp_invalid", ServiceError) {
  constructor(readonly attemptsLeft: number) {
    super(
      attemptsLeft > 0
        ? `The code is not correct. ${attemptsLeft} ${attemptsLeft === 1 ? "try" : "tries"} left before it stops working.`
        : "The code is not correct, and no tries are left. Request a new code.",
    );
    this.extensions.attempts_left = attemptsLeft;
  }
}

export class TooManyAttemptsError extends coded("too_many_attempts", RetryLaterError) {}

export class RateLimitedError extends coded("rate_limited", RetryLaterError) {}

/**
 * What became of a message a gateway did not accept: `not_sent` when the
 * gateway answered with a refusal or an error (nothing was delivered or
 * billed), `unknown` when it never answered or its answer could not be read
 * (the SMS may still arrive, and may have been billed).
 */
export type SmsDelivery = "not_sent" | "unknown";

/**
 * Why a gateway did not accept a message, for the operator's log only:
 * `reason` may name the account's state (balance, key, KYC). The client
 * sees a detail built from `delivery` and `retryable` alone.
 */
export interface SmsFailure {
  gateway: string;
  delivery: SmsDelivery;
  /** Whether the same request could succeed if tried again in a few minutes. */
  retryable: boolean;
  /** A refusal of the number itself, which the person can fix. */
  numberRefused?: boolean;
  /**
   * A refusal caused by the recipient, not by the gateway (Fast2SMS 995:
   * repeated messages to this number): failing over would only get round the
   * gateway's own anti-spam check, and it says nothing about the gateway's health.
   */
  recipientLimited?: boolean;
  /**
   * The recipient cannot be reached on this channel (not on WhatsApp, or Meta
   * holds the message back): it says nothing about the gateway's health, and
   * the channel the send falls back to may still reach them.
   */
  channelUnreachable?: boolean;
  reason: string;
  httpStatus?: number;
  gatewayCode?: number;
  /** When several gateways were tried (failover): each one's own failure, in order. */
  attempts?: readonly SmsFailure[];
}

export class SmsFailedError extends coded("sms_failed", ServiceError) {
  constructor(readonly failure: SmsFailure) {
    super(publicSmsDetail(failure), { cause: `${failure.gateway}: ${failure.reason}` });
  }
}

function publicSmsDetail(failure: SmsFailure): string {
  if (failure.delivery === "unknown") {
    return "The SMS gateway did not confirm the message. If a code arrives, it will not work; request a new code when the wait is over.";
  }
  if (failure.numberRefused) return "The SMS gateway could not deliver to this number. Check the number.";
  return failure.retryable
    ? "The SMS could not be sent. Trying again in a few minutes may help."
    : "The SMS could not be sent, and trying again soon is unlikely to help. If it keeps failing, contact the app's support.";
}

/** A delivery channel (a voice call) that no configured gateway offers. */
export class ChannelNotAvailableError extends coded("channel_not_available", ServiceError) {}

export class UnavailableError extends coded("unavailable", RetryLaterError) {}

export class MisconfiguredError extends coded("misconfigured", ServiceError) {
  constructor(
    readonly settings: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(
      `The service is not configured correctly: check the setting${settings.length === 1 ? "" : "s"} ${settings.join(", ")}.`,
      options,
    );
  }
}

export class NotFoundError extends coded("not_found", ServiceError) {}

export class UnsupportedMediaTypeError extends coded("unsupported_media_type", ServiceError) {}

/** Anything unexpected. Its cause is logged; the client sees only this. */
export class InternalError extends coded("internal_error", ServiceError) {}

export class CaptchaFailedError extends coded("captcha_failed", ServiceError) {}

export class CaptchaUnavailableError extends coded("captcha_unavailable", RetryLaterError) {}

export class SmsBudgetExhaustedError extends coded("sms_budget_exhausted", RetryLaterError) {}

/** A send to a number range blocked by the fraud guard: the same detail and Retry-After for every number of it. */
export class FraudSuspectedError extends coded("fraud_suspected", RetryLaterError) {}

export class InvalidRefreshTokenError extends coded("invalid_refresh_token", ServiceError) {}

/**
 * A missing or bad access token; on-error.ts adds `WWW-Authenticate: Bearer`
 * (RFC 6750 §3). `credentialsMissing` when the request sent no Bearer
 * credentials at all: that challenge then names no error (RFC 6750 §3.1).
 */
export class InvalidTokenError extends coded("invalid_token", ServiceError) {
  readonly credentialsMissing: boolean;

  constructor(detail: string, options?: { cause?: unknown; credentialsMissing?: boolean }) {
    super(detail, options);
    this.credentialsMissing = options?.credentialsMissing ?? false;
  }
}

/** An /admin call without the operator's token (ADMIN_TOKEN), or with another one. */
export class AdminUnauthorizedError extends coded("admin_unauthorized", ServiceError) {}

export class WebhookSignatureInvalidError extends coded("webhook_signature_invalid", ServiceError) {}

export class WebhookVerificationFailedError extends coded("webhook_verification_failed", ServiceError) {}

export class SessionNotFoundError extends coded("session_not_found", ServiceError) {}
