/**
 * Every error code the service can answer with: its HTTP status, title, and
 * when it happens. ServiceError subclasses take their status and title from
 * here, and the OpenAPI document (src/http/openapi/) lists the codes of each
 * operation from here, so the two cannot disagree.
 */
export interface ErrorInfo {
  status: number;
  title: string;
  /** When it happens, for people: README.md's error table says exactly this (a test checks it). */
  when: string;
  /** Whether the answer carries a Retry-After header. */
  retryAfter?: "always";
}

export const ERROR_CATALOG = {
  invalid_request: {
    status: 400,
    title: "Invalid request",
    when: "body not JSON, not an object, wrong types, missing or unknown fields",
  },
  payload_too_large: { status: 413, title: "Request body too large", when: "body above 4 KB" },
  unsupported_media_type: {
    status: 415,
    title: "Unsupported media type",
    when: "`Content-Type` is not `application/json`",
  },
  invalid_phone: { status: 400, title: "Invalid phone number", when: "not a valid mobile number" },
  country_not_allowed: {
    status: 403,
    title: "Country not allowed",
    when: "valid number outside `ALLOWED_COUNTRIES`",
  },
  otp_not_found: {
    status: 404,
    title: "No pending code",
    when: "the guess names no live code of this number: `verification_id` unknown, of another number, or of a code that expired, was used or ran out of tries (one answer for all, so it tells nothing about the number)",
  },
  otp_invalid: {
    status: 400,
    title: "Wrong code",
    when: "wrong code for a live `verification_id`; `attempts_left` says how many tries that code has left",
  },
  too_many_attempts: {
    status: 429,
    title: "Too many attempts",
    when: "a new code was refused after too many wrong codes in 24 hours for this number (`OTP_MAX_FAILURES_PER_DAY` from this client, `OTP_MAX_FAILURES_PER_NUMBER_PER_DAY` in all); codes already sent still work; `Retry-After` set",
    retryAfter: "always",
  },
  rate_limited: {
    status: 429,
    title: "Too many requests",
    when: "resend cooldown, hourly send limit per number, or hourly limit per client address (sends, send requests, verifies); `Retry-After` set",
    retryAfter: "always",
  },
  captcha_failed: {
    status: 403,
    title: "Bot check failed",
    when: "bot check on and `turnstile_token` missing or refused by Turnstile",
  },
  captcha_unavailable: {
    status: 503,
    title: "Bot check unavailable",
    when: "Turnstile's siteverify could not be reached (fails closed); `Retry-After` set",
    retryAfter: "always",
  },
  sms_budget_exhausted: {
    status: 503,
    title: "Daily SMS budget spent",
    when: "the budget released so far of the day's `SMS_DAILY_BUDGET` is spent; `Retry-After` until the next release (the next UTC hour, or 00:00 UTC) plus a random spread; verifies keep working",
    retryAfter: "always",
  },
  fraud_suspected: {
    status: 403,
    title: "Sign-in by SMS paused",
    when: "the number's range (the number without its last `FRAUD_RANGE_DROP_DIGITS` digits) was sent `FRAUD_RANGE_MAX_UNVERIFIED` codes within the hour that were never verified, so its sends are paused for suspected SMS pumping; the same answer for every number of the range; `Retry-After` until the block ends (or a few seconds, while the range is at its threshold only with sends still in flight, which starts no block); verifies keep working",
    retryAfter: "always",
  },
  channel_not_available: {
    status: 400,
    title: "Channel not available",
    when: '`"channel": "voice"` asked for, and no gateway in `SMS_PROVIDERS` can make a call (2Factor can); or `"channel": "whatsapp"` without the WhatsApp settings',
  },
  sms_failed: {
    status: 502,
    title: "SMS could not be sent",
    when: "the SMS gateway refused or failed; `detail` says whether trying again soon can help (the gateway's reason goes to the log only)",
  },
  unavailable: {
    status: 503,
    title: "Service temporarily unavailable",
    when: "KV or a Durable Object failed or took longer than `STORAGE_TIMEOUT_MS`; nothing was sent, counted or used up; `Retry-After` set",
    retryAfter: "always",
  },
  misconfigured: {
    status: 500,
    title: "Service misconfigured",
    when: "a required setting is missing or invalid; `detail` names the settings, never their values",
  },
  invalid_refresh_token: {
    status: 401,
    title: "Invalid refresh token",
    when: "the refresh token is unknown, malformed, expired, revoked, or was already used (then its whole session ends)",
  },
  invalid_token: {
    status: 401,
    title: "Invalid access token",
    when: "`Authorization: Bearer` missing, or its access token is not valid (bad signature, expired, wrong issuer or audience); `WWW-Authenticate: Bearer` set",
  },
  session_not_found: {
    status: 404,
    title: "No such session",
    when: "no session with this id for the token's number (never existed, ended, or another number's)",
  },
  admin_unauthorized: {
    status: 401,
    title: "Admin token required",
    when: "an `/admin` call without `Authorization: Bearer <ADMIN_TOKEN>`, or with another token; `WWW-Authenticate: Bearer` set",
  },
  webhook_signature_invalid: {
    status: 401,
    title: "Webhook signature invalid",
    when: "a `POST /webhooks/whatsapp` without a valid `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with `WHATSAPP_APP_SECRET`), or a `POST /hooks/supabase/send-sms` without a valid Standard Webhooks signature by `SUPABASE_SMS_HOOK_SECRET` or with a timestamp more than 5 minutes off; nothing is recorded or sent",
  },
  webhook_verification_failed: {
    status: 403,
    title: "Webhook verification failed",
    when: "a `GET /webhooks/whatsapp` handshake that is not `hub.mode=subscribe` with the right `hub.verify_token` (`WHATSAPP_VERIFY_TOKEN`)",
  },
  not_found: {
    status: 404,
    title: "Not found",
    when: "no such route, `/dev/outbox` with a real SMS provider, or `/admin` while `ADMIN_TOKEN` is not set",
  },
  internal_error: {
    status: 500,
    title: "Internal error",
    when: "a bug; details are in the log under the `request_id`",
  },
} as const satisfies Record<string, ErrorInfo>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export const ERROR_CODES = Object.keys(ERROR_CATALOG) as [ErrorCode, ...ErrorCode[]];
