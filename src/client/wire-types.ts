/**
 * Generated from the service's OpenAPI document (GET /openapi.json, built from
 * the routes' zod schemas) by test/e2e/sdk-wire-types.test.ts, which fails when
 * this file differs from what it generates. Do not edit: run
 * `UPDATE_WIRE_TYPES=1 npx vitest run test/e2e/sdk-wire-types.test.ts`.
 * The wire is snake_case; the client maps it to camelCase (camel.ts).
 */

/** Text a one-time code to a mobile number */
export interface SendOtpBody {
  /** A mobile number: E.164 or a form people type in India (+91 98765 43210, 09876543210, 9876543210). */
  phone: string;
  /** Cloudflare Turnstile token; required when the service has TURNSTILE_SECRET_KEY set. */
  turnstile_token?: string;
  /** sms (default); voice: a call that speaks the code, through the first gateway that can call (channel_not_available when none can); whatsapp: a WhatsApp authentication template, falling back to SMS with the same code when WhatsApp cannot deliver (channel_not_available when WhatsApp is not configured). */
  channel?: "sms" | "voice" | "whatsapp";
}

/** The code was sent. */
export interface SendOtpResponse {
  message: "OTP sent successfully";
  /** The number in E.164. */
  phone: string;
  /** Names this one code: send it back with the code to /verify-otp. 128 random bits, the time it was made and a 64-bit tag: 38 URL-safe characters. */
  verification_id: string;
  /** Seconds until the code expires (OTP_TTL_SECONDS). */
  expires_in: number;
  /** Seconds until another code may be sent to this number. */
  resend_after: number;
  /** The channel the code went out on: the one asked for, or sms when a whatsapp send fell back to SMS. */
  channel: "sms" | "voice" | "whatsapp";
}

/** Check a code and get a signed token */
export interface VerifyOtpBody {
  /** A mobile number: E.164 or a form people type in India (+91 98765 43210, 09876543210, 9876543210). */
  phone: string;
  /** The verification_id that /send-otp answered for this code. Required unless the service sets OTP_REQUIRE_VERIFICATION_ID=false. */
  verification_id?: string;
  /** The code from the SMS (OTP_LENGTH digits). */
  otp: string;
}

/** The code was right. */
export interface VerifyOtpResponse {
  message: "OTP verified successfully";
  status: "success";
  /** A signed JWT: sub and phone_number are the E.164 number. */
  access_token: string;
  token_type: "Bearer";
  /** Seconds until the access token expires (JWT_TTL_SECONDS). */
  expires_in: number;
  /** Opaque; rotates on every refresh. Keep it secret, send it only to /token/refresh and /logout. */
  refresh_token: string;
  /** Seconds until the session ends unless refreshed: the idle limit (REFRESH_TOKEN_TTL_SECONDS) or the absolute one (SESSION_MAX_AGE_SECONDS), whichever is sooner. */
  refresh_expires_in: number;
  /** A Firebase custom token for signInWithCustomToken(); only when FIREBASE_SERVICE_ACCOUNT is set. */
  firebase_token?: string;
}

/** Whether a code's SMS or call reached the phone */
export interface GetVerificationStatusBody {
  /** A mobile number: E.164 or a form people type in India (+91 98765 43210, 09876543210, 9876543210). */
  phone: string;
  /** The verification_id that /send-otp answered for this code. */
  verification_id: string;
}

/** Where the code's messages stand. */
export interface GetVerificationStatusResponse {
  /** delivered once any message of the code reached the phone; failed once every one failed; else pending (no report yet). A test number's code is delivered at once. */
  status: "pending" | "delivered" | "failed";
  /** The channel of the latest message (the one asked for, before any). */
  channel: "sms" | "voice" | "whatsapp";
  /** The messages that carried the code, oldest first; none for a test number. */
  messages: {
    channel: "sms" | "voice" | "whatsapp";
    status: "pending" | "delivered" | "failed";
    /** ISO 8601 time the gateway accepted it. */
    sent_at: string;
    /** ISO 8601 time it reached the phone, once it did. */
    delivered_at?: string;
  }[];
  /** Seconds until the code expires. */
  expires_in: number;
}

/** Rotate a refresh token and get a fresh access token */
export interface RefreshTokenBody {
  /** The opaque refresh token from /verify-otp or the last /token/refresh. */
  refresh_token: string;
}

/** Rotated. */
export interface RefreshTokenResponse {
  /** A signed JWT: sub and phone_number are the E.164 number, sid the session. */
  access_token: string;
  token_type: "Bearer";
  /** Seconds until the access token expires (JWT_TTL_SECONDS). */
  expires_in: number;
  /** Opaque; rotates on every refresh. Keep it secret, send it only to /token/refresh and /logout. */
  refresh_token: string;
  /** Seconds until the session ends unless refreshed: the idle limit (REFRESH_TOKEN_TTL_SECONDS) or the absolute one (SESSION_MAX_AGE_SECONDS), whichever is sooner. */
  refresh_expires_in: number;
  /** A Firebase custom token; only when FIREBASE_SERVICE_ACCOUNT is set. */
  firebase_token?: string;
}

/** End the session of a refresh token */
export interface LogoutBody {
  /** The opaque refresh token from /verify-otp or the last /token/refresh. */
  refresh_token: string;
}

/** The sessions. */
export interface ListSessionsResponse {
  sessions: {
    /** The session id (the access token's sid). */
    id: string;
    /** ISO 8601: when the session started (the verify). */
    created_at: string;
    /** ISO 8601: the last refresh. */
    last_used_at: string;
    /** ISO 8601: when it ends unless refreshed. */
    expires_at: string;
    /** True for the session of the access token making this request. */
    current: boolean;
    client: string | null;
  }[];
}

/** RFC 9457 problem details. `type` is urn:phone-otp:problem:<code>. */
export interface Problem {
  /** urn:phone-otp:problem:<code> */
  type: string;
  title: string;
  status: number;
  /** A sentence a person can act on. */
  detail: string;
  code:
    | "invalid_request"
    | "payload_too_large"
    | "unsupported_media_type"
    | "invalid_phone"
    | "country_not_allowed"
    | "otp_not_found"
    | "otp_invalid"
    | "too_many_attempts"
    | "rate_limited"
    | "captcha_failed"
    | "captcha_unavailable"
    | "sms_budget_exhausted"
    | "fraud_suspected"
    | "channel_not_available"
    | "sms_failed"
    | "unavailable"
    | "misconfigured"
    | "invalid_refresh_token"
    | "invalid_token"
    | "session_not_found"
    | "admin_unauthorized"
    | "webhook_signature_invalid"
    | "webhook_verification_failed"
    | "not_found"
    | "internal_error";
  /** With otp_invalid: tries left for this code. */
  attempts_left?: number;
  /** The id of this request in the service's log. */
  request_id?: string;
  [key: string]: unknown;
}

/** Every stable error `code` a problem answer can carry. */
export type ProblemCode = Problem["code"];

/** Each operation's method, path and whether it needs the access token. */
export const ROUTES = {
  sendOtp: { method: "POST", path: "/send-otp", bearer: false },
  verifyOtp: { method: "POST", path: "/verify-otp", bearer: false },
  getVerificationStatus: { method: "POST", path: "/verification-status", bearer: false },
  refreshToken: { method: "POST", path: "/token/refresh", bearer: false },
  logout: { method: "POST", path: "/logout", bearer: false },
  logoutAll: { method: "POST", path: "/logout-all", bearer: true },
  listSessions: { method: "GET", path: "/sessions", bearer: true },
  deleteSession: { method: "DELETE", path: "/sessions/{id}", bearer: true },
} as const;
