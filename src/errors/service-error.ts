import { ERROR_CATALOG, type ErrorCode } from "./error-catalog";

/**
 * Every failure the service reports to a client is one of these classes.
 * `code` is stable and machine-readable; `detail` is a sentence a person can
 * act on. Anything internal (a storage exception, a provider's raw body) goes
 * in `cause`, which is logged by the error handler and never sent on the wire.
 * Each code's status and title come from error-catalog.ts. The mapping to
 * problem+json happens in exactly one place: http/on-error.ts.
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

export class OtpNotFoundError extends ServiceError {
  readonly code = "otp_not_found";
}

export class OtpExpiredError extends ServiceError {
  readonly code = "otp_expired";
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

export class TooManyAttemptsError extends ServiceError {
  readonly code = "too_many_attempts";
}

export class RateLimitedError extends ServiceError {
  readonly code = "rate_limited";
}

export class SmsFailedError extends ServiceError {
  readonly code = "sms_failed";
}

export class UnavailableError extends ServiceError {
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

export class CaptchaUnavailableError extends ServiceError {
  readonly code = "captcha_unavailable";
}

export class SmsBudgetExhaustedError extends ServiceError {
  readonly code = "sms_budget_exhausted";
}

export class InvalidRefreshTokenError extends ServiceError {
  readonly code = "invalid_refresh_token";
}

/** A missing or bad access token; on-error.ts adds `WWW-Authenticate: Bearer` (RFC 6750 §3). */
export class InvalidTokenError extends ServiceError {
  readonly code = "invalid_token";
}

export class SessionNotFoundError extends ServiceError {
  readonly code = "session_not_found";
}
