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
    this.name = new.target.name;
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

/** The catalog says these always carry Retry-After, so their constructors require it. */
abstract class RetryLaterError extends ServiceError {
  constructor(detail: string, options: { cause?: unknown; retryAfter: number }) {
    super(detail, options);
  }
}

export class InvalidRequestError extends ServiceError {
  readonly code = "invalid_request";
}

export class PayloadTooLargeError extends ServiceError {
  readonly code = "payload_too_large";
}

export class InvalidPhoneError extends ServiceError {
  readonly code = "invalid_phone";
}

export class CountryNotAllowedError extends ServiceError {
  readonly code = "country_not_allowed";
}

/**
 * The one answer to every guess that is not evaluated: no id, an unknown id,
 * another number's id, or the id of a code that is expired, used or out of
 * tries. Its detail is fixed, so it tells nobody anything about the number.
 */
export class OtpNotFoundError extends ServiceError {
  readonly code = "otp_not_found";
  constructor() {
    super(
      "No code is waiting for this verification: it may have expired, been used, or run out of tries. Request a new code.",
    );
  }
}

export class OtpInvalidError extends ServiceError {
  readonly code = "otp_invalid";
  constructor(readonly attemptsLeft: number) {
    super(
      attemptsLeft > 0
        ? `The code is not correct. ${attemptsLeft} ${attemptsLeft === 1 ? "try" : "tries"} left before it stops working.`
        : "The code is not correct, and no tries are left. Request a new code.",
    );
    this.extensions.attempts_left = attemptsLeft;
  }
}

export class TooManyAttemptsError extends RetryLaterError {
  readonly code = "too_many_attempts";
}

export class RateLimitedError extends RetryLaterError {
  readonly code = "rate_limited";
}

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
  reason: string;
  httpStatus?: number;
  gatewayCode?: number;
  /** When several gateways were tried (failover): each one's own failure, in order. */
  attempts?: readonly SmsFailure[];
}

export class SmsFailedError extends ServiceError {
  readonly code = "sms_failed";
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
export class ChannelNotAvailableError extends ServiceError {
  readonly code = "channel_not_available";
}

export class UnavailableError extends RetryLaterError {
  readonly code = "unavailable";
}

export class MisconfiguredError extends ServiceError {
  readonly code = "misconfigured";
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

export class NotFoundError extends ServiceError {
  readonly code = "not_found";
}

export class UnsupportedMediaTypeError extends ServiceError {
  readonly code = "unsupported_media_type";
}

/** Anything unexpected. Its cause is logged; the client sees only this. */
export class InternalError extends ServiceError {
  readonly code = "internal_error";
}

export class CaptchaFailedError extends ServiceError {
  readonly code = "captcha_failed";
}

export class CaptchaUnavailableError extends RetryLaterError {
  readonly code = "captcha_unavailable";
}

export class SmsBudgetExhaustedError extends RetryLaterError {
  readonly code = "sms_budget_exhausted";
}

export class InvalidRefreshTokenError extends ServiceError {
  readonly code = "invalid_refresh_token";
}

/**
 * A missing or bad access token; on-error.ts adds `WWW-Authenticate: Bearer`
 * (RFC 6750 §3). `credentialsMissing` when the request sent no Bearer
 * credentials at all: that challenge then names no error (RFC 6750 §3.1).
 */
export class InvalidTokenError extends ServiceError {
  readonly code = "invalid_token";
  readonly credentialsMissing: boolean;

  constructor(detail: string, options?: { cause?: unknown; credentialsMissing?: boolean }) {
    super(detail, options);
    this.credentialsMissing = options?.credentialsMissing ?? false;
  }
}

/** An /admin call without the operator's token (ADMIN_TOKEN), or with another one. */
export class AdminUnauthorizedError extends ServiceError {
  readonly code = "admin_unauthorized";
}

export class SessionNotFoundError extends ServiceError {
  readonly code = "session_not_found";
}
