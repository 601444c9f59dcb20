/**
 * Every failure the service reports to a client is one of these classes.
 * `code` is stable and machine-readable; `detail` is a sentence a person can
 * act on. Anything internal (a storage exception, a provider's raw body) goes
 * in `cause`, which is logged by the error handler and never sent on the wire.
 * The mapping to problem+json happens in exactly one place: http/on-error.ts.
 */
export abstract class ServiceError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  abstract readonly title: string;
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
}

export class InvalidRequestError extends ServiceError {
  readonly code = "invalid_request";
  readonly status = 400;
  readonly title = "Invalid request";
}

export class PayloadTooLargeError extends ServiceError {
  readonly code = "payload_too_large";
  readonly status = 413;
  readonly title = "Request body too large";
}

export class InvalidPhoneError extends ServiceError {
  readonly code = "invalid_phone";
  readonly status = 400;
  readonly title = "Invalid phone number";
}

export class CountryNotAllowedError extends ServiceError {
  readonly code = "country_not_allowed";
  readonly status = 403;
  readonly title = "Country not allowed";
}

export class OtpNotFoundError extends ServiceError {
  readonly code = "otp_not_found";
  readonly status = 404;
  readonly title = "No pending code";
}

export class OtpExpiredError extends ServiceError {
  readonly code = "otp_expired";
  readonly status = 400;
  readonly title = "Code expired";
}

export class OtpInvalidError extends ServiceError {
  readonly code = "otp_invalid";
  readonly status = 400;
  readonly title = "Wrong code";
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
  readonly status = 429;
  readonly title = "Too many attempts";
}

export class RateLimitedError extends ServiceError {
  readonly code = "rate_limited";
  readonly status = 429;
  readonly title = "Too many requests";
}

export class SmsFailedError extends ServiceError {
  readonly code = "sms_failed";
  readonly status = 502;
  readonly title = "SMS could not be sent";
}

export class UnavailableError extends ServiceError {
  readonly code = "unavailable";
  readonly status = 503;
  readonly title = "Service temporarily unavailable";
}

export class MisconfiguredError extends ServiceError {
  readonly code = "misconfigured";
  readonly status = 500;
  readonly title = "Service misconfigured";
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
  readonly status = 404;
  readonly title = "Not found";
}

export class MethodNotAllowedError extends ServiceError {
  readonly code = "method_not_allowed";
  readonly status = 405;
  readonly title = "Method not allowed";
}

export class UnsupportedMediaTypeError extends ServiceError {
  readonly code = "unsupported_media_type";
  readonly status = 415;
  readonly title = "Unsupported media type";
}

/** Anything unexpected. Its cause is logged; the client sees only this. */
export class InternalError extends ServiceError {
  readonly code = "internal_error";
  readonly status = 500;
  readonly title = "Internal error";
}

export class CaptchaFailedError extends ServiceError {
  readonly code = "captcha_failed";
  readonly status = 403;
  readonly title = "Bot check failed";
}

export class CaptchaUnavailableError extends ServiceError {
  readonly code = "captcha_unavailable";
  readonly status = 503;
  readonly title = "Bot check unavailable";
}

export class SmsBudgetExhaustedError extends ServiceError {
  readonly code = "sms_budget_exhausted";
  readonly status = 503;
  readonly title = "Daily SMS budget spent";
}
