/**
 * Every error code the service can answer with: its HTTP status, title, and
 * when it happens. ServiceError subclasses take their status and title from
 * here, and the OpenAPI document (src/openapi/) lists the codes of each
 * operation from here, so the two cannot disagree.
 */
export interface ErrorInfo {
  status: number;
  title: string;
  /** When it happens, for people (README.md's table and the OpenAPI document say the same). */
  when: string;
  /** Whether the answer carries a Retry-After header. */
  retryAfter?: "always" | "when locked";
}

export const ERROR_CATALOG = {
  invalid_request: {
    status: 400,
    title: "Invalid request",
    when: "The body is not JSON, not an object, has wrong types, or missing or unknown fields.",
  },
  payload_too_large: { status: 413, title: "Request body too large", when: "The body is above 4 KB." },
  unsupported_media_type: {
    status: 415,
    title: "Unsupported media type",
    when: "Content-Type is not application/json.",
  },
  invalid_phone: { status: 400, title: "Invalid phone number", when: "Not a valid mobile number." },
  country_not_allowed: {
    status: 403,
    title: "Country not allowed",
    when: "A valid number outside ALLOWED_COUNTRIES.",
  },
  otp_not_found: {
    status: 404,
    title: "No pending code",
    when: "No pending code for this number (never sent, already used, or killed after a failed send).",
  },
  otp_expired: { status: 400, title: "Code expired", when: "The code's lifetime has passed." },
  otp_invalid: {
    status: 400,
    title: "Wrong code",
    when: "Wrong code; attempts_left says how many tries are left.",
  },
  too_many_attempts: {
    status: 429,
    title: "Too many attempts",
    when: "The code has no tries left, or the number is locked after OTP_MAX_FAILURES_PER_DAY wrong tries (then Retry-After is set).",
    retryAfter: "when locked",
  },
  rate_limited: {
    status: 429,
    title: "Too many requests",
    when: "Resend cooldown, hourly send limit per number, or hourly limit per client address; Retry-After set.",
    retryAfter: "always",
  },
  captcha_failed: {
    status: 403,
    title: "Bot check failed",
    when: "The bot check is on and turnstile_token is missing or refused by Turnstile.",
  },
  captcha_unavailable: {
    status: 503,
    title: "Bot check unavailable",
    when: "Turnstile's siteverify could not be reached (fails closed); Retry-After set.",
    retryAfter: "always",
  },
  sms_budget_exhausted: {
    status: 503,
    title: "Daily SMS budget spent",
    when: "The day's SMS_DAILY_BUDGET is spent; Retry-After until 00:00 UTC; verifies keep working.",
    retryAfter: "always",
  },
  sms_failed: {
    status: 502,
    title: "SMS could not be sent",
    when: "Fast2SMS refused or failed; detail gives the reason (never the key).",
  },
  unavailable: {
    status: 503,
    title: "Service temporarily unavailable",
    when: "KV or a Durable Object failed or took longer than STORAGE_TIMEOUT_MS; nothing was sent; Retry-After set.",
    retryAfter: "always",
  },
  misconfigured: {
    status: 500,
    title: "Service misconfigured",
    when: "A required setting is missing or invalid; detail names the settings, never their values.",
  },
  not_found: { status: 404, title: "Not found", when: "No such route (or /dev/outbox with a real SMS provider)." },
  internal_error: {
    status: 500,
    title: "Internal error",
    when: "A bug; the details are in the log under the request_id.",
  },
} as const satisfies Record<string, ErrorInfo>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export const ERROR_CODES = Object.keys(ERROR_CATALOG) as [ErrorCode, ...ErrorCode[]];
