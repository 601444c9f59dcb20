import type * as z from "zod/mini";
import type { ErrorCode } from "../../kernel/errors/error-catalog";
import { adminBlocksResponse, adminNumberResponse, adminStatsResponse } from "../schemas/admin-schemas";
import {
  healthResponse,
  jwksResponse,
  outboxResponse,
  sendOtpBody,
  sendOtpResponse,
  verificationStatusBody,
  verificationStatusResponse,
  verifyOtpBody,
  verifyOtpResponse,
  webhookResponse,
} from "../schemas/api-schemas";
import { supabaseHookError, supabaseHookResponse, supabaseSendSmsBody } from "../schemas/hook-schemas";
import { refreshTokenBody, sessionsResponse, tokenRefreshResponse } from "../schemas/session-schemas";

/**
 * Every route of the app, described for the OpenAPI document: the request
 * and response schemas are the ones the routes themselves validate with and
 * answer in (src/http/schemas/), and the error codes come from
 * src/kernel/errors/error-catalog.ts. A test checks that this list and the app's
 * routes are the same set, and the test helpers check every answer the tests
 * receive against it.
 */
export interface Operation {
  method: "get" | "post" | "delete";
  path: string;
  operationId: string;
  summary: string;
  description: string;
  tag: "OTP" | "Sessions" | "Tokens" | "Service" | "Webhooks" | "Pages" | "Admin";
  /** JSON request body. */
  body?: z.ZodMiniType;
  /** Optional query parameters, with their descriptions. */
  query?: Record<string, string>;
  /** Path parameters (`{name}` in `path`), with their descriptions. */
  params?: Record<string, string>;
  /** Whether `Authorization: Bearer <access token>` is required. */
  bearer?: boolean;
  /** Whether `Authorization: Bearer <ADMIN_TOKEN>` is required. */
  admin?: boolean;
  success:
    | { status: 200; contentType: string; description: string; schema?: z.ZodMiniType }
    | { status: 204; contentType?: undefined; description: string; schema?: undefined };
  /** Problem codes this operation can answer with (internal_error is implied everywhere). */
  errors: readonly ErrorCode[];
  /** For pages: a 500 that is an HTML page (not problem+json), and when it happens. */
  htmlError?: string;
  /** For a hook another service calls: its errors are this JSON (the codes' statuses) instead of problem+json. */
  errorBody?: z.ZodMiniType;
}

/** Every POST: JSON only, at most 4 KB, validated against its schema. */
const BODY_ERRORS = ["invalid_request", "payload_too_large", "unsupported_media_type"] as const;
const PHONE_ERRORS = ["invalid_phone", "country_not_allowed"] as const;
/** Every admin call: absent without ADMIN_TOKEN, 401 without it, 429 after too many failed calls from the client. */
const ADMIN_ERRORS = ["not_found", "admin_unauthorized", "rate_limited", "unavailable", "misconfigured"] as const;
const ADMIN_PHONE = { phone: "The number, in any accepted form (URL-encode the +: %2B919876543210)." };

export const OPERATIONS: readonly Operation[] = [
  {
    method: "post",
    path: "/send-otp",
    operationId: "sendOtp",
    summary: "Text a one-time code to a mobile number",
    description:
      "Makes a new code, stores only its keyed hash, sends it by SMS (or a voice call with channel voice), and answers its verification_id. " +
      "The gateways are tried in order with the same code until one accepts. " +
      "Codes the number already has stay live: a refused or failed send changes nothing for them, and spends nothing.",
    tag: "OTP",
    body: sendOtpBody,
    success: {
      status: 200,
      contentType: "application/json",
      description: "The code was sent.",
      schema: sendOtpResponse,
    },
    errors: [
      ...BODY_ERRORS,
      ...PHONE_ERRORS,
      "channel_not_available",
      "captcha_failed",
      "too_many_attempts",
      "rate_limited",
      "sms_budget_exhausted",
      "fraud_suspected",
      "sms_failed",
      "captcha_unavailable",
      "unavailable",
      "misconfigured",
    ],
  },
  {
    method: "post",
    path: "/verify-otp",
    operationId: "verifyOtp",
    summary: "Check a code and get a signed token",
    description:
      "Checks the code against the one code that verification_id names, at most OTP_MAX_ATTEMPTS times per code. " +
      "A guess that names no live code of this number changes nothing and always gets the same 404. " +
      "On success the code is spent and the answer carries a signed access token (and a Firebase custom token when configured).",
    tag: "OTP",
    body: verifyOtpBody,
    success: {
      status: 200,
      contentType: "application/json",
      description: "The code was right.",
      schema: verifyOtpResponse,
    },
    errors: [
      ...BODY_ERRORS,
      ...PHONE_ERRORS,
      "otp_not_found",
      "otp_invalid",
      "rate_limited",
      "unavailable",
      "misconfigured",
    ],
  },
  {
    method: "post",
    path: "/verification-status",
    operationId: "getVerificationStatus",
    summary: "Whether a code's SMS or call reached the phone",
    description:
      "For the code that verification_id names: pending until a gateway reports on its message, delivered once one reached the phone, " +
      "failed once every one failed. An id that is not this number's, or older than its code can be, is refused before anything is read; " +
      "one code's status may be read 60 times (a poll every 5 s for its whole life), then 429 rate_limited. " +
      "Every id that names no live code of this number (unknown, another number's, used, expired) is the same 404 as at /verify-otp. " +
      "Reports arrive only while the service has DELIVERY_WEBHOOK_SECRET set and the gateway's webhook points at it; until then a message stays pending.",
    tag: "OTP",
    body: verificationStatusBody,
    success: {
      status: 200,
      contentType: "application/json",
      description: "Where the code's messages stand.",
      schema: verificationStatusResponse,
    },
    errors: [...BODY_ERRORS, ...PHONE_ERRORS, "otp_not_found", "rate_limited", "unavailable", "misconfigured"],
  },
  {
    method: "post",
    path: "/webhooks/{gateway}/{secret}",
    operationId: "receiveDeliveryReports",
    summary: "A gateway's delivery reports (its webhook)",
    description:
      "For Fast2SMS, MSG91 and 2Factor, whose webhooks are not signed: the path carries DELIVERY_WEBHOOK_SECRET, compared in constant time and never logged. " +
      "A wrong or missing secret, an unknown gateway, or no DELIVERY_WEBHOOK_SECRET is 404 and changes nothing. " +
      "Any body answers 200 {}: reports for ids the service never sent, and bodies that are no report, change nothing. " +
      "Reports only move a message forward (a repeat changes nothing; delivered wins over failed). The body is the gateway's own (JSON or form-encoded, at most 64 KB).",
    tag: "Webhooks",
    params: {
      gateway: "fast2sms, msg91 or twofactor.",
      secret: "DELIVERY_WEBHOOK_SECRET.",
    },
    success: { status: 200, contentType: "application/json", description: "Received.", schema: webhookResponse },
    errors: ["not_found", "payload_too_large", "unavailable", "misconfigured"],
  },
  {
    method: "get",
    path: "/webhooks/whatsapp",
    operationId: "verifyWhatsAppWebhook",
    summary: "Meta's verification handshake for the WhatsApp webhook",
    description:
      "Meta calls it when the callback URL is saved: hub.mode=subscribe with hub.verify_token equal to WHATSAPP_VERIFY_TOKEN (compared in constant time) " +
      "answers 200 with hub.challenge as plain text; anything else is 403. Does not exist (404) while WhatsApp is not configured.",
    tag: "Webhooks",
    query: {
      "hub.mode": "subscribe.",
      "hub.verify_token": "WHATSAPP_VERIFY_TOKEN.",
      "hub.challenge": "What to answer with.",
    },
    success: { status: 200, contentType: "text/plain", description: "hub.challenge, as it came." },
    errors: ["not_found", "webhook_verification_failed", "misconfigured"],
  },
  {
    method: "post",
    path: "/webhooks/whatsapp",
    operationId: "receiveWhatsAppStatuses",
    summary: "WhatsApp's message statuses (its webhook)",
    description:
      "Accepted only with X-Hub-Signature-256: the HMAC-SHA256 of the raw body with WHATSAPP_APP_SECRET, compared in constant time; otherwise 401 and nothing changes. " +
      "statuses[]: delivered or read marks the message delivered, failed marks it failed (Meta's error code kept), sent changes nothing; " +
      "each is matched by its wamid among the messages of the number recipient_id names. Any signed body answers 200 {}, for unknown ids too. " +
      "Does not exist (404) while WhatsApp is not configured. At most 3 MB.",
    tag: "Webhooks",
    success: { status: 200, contentType: "application/json", description: "Received.", schema: webhookResponse },
    errors: ["not_found", "webhook_signature_invalid", "payload_too_large", "unavailable", "misconfigured"],
  },
  {
    method: "post",
    path: "/hooks/supabase/send-sms",
    operationId: "supabaseSendSms",
    summary: "Supabase Auth's Send SMS hook: deliver Supabase's code",
    description:
      "Supabase Auth calls it with the Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature) signed with SUPABASE_SMS_HOOK_SECRET; " +
      "a bad signature or a timestamp more than 5 minutes off is 401 and nothing is sent. Then Supabase's code goes to user.phone (with or without +) " +
      "through this service's send path: every per-number limit, Supabase's own hourly allowance (SUPABASE_SMS_HOOK_MAX_SENDS_PER_HOUR), the day's budget, " +
      "the gateways with failover, delivery reports and the fallback. The code is not stored as one of this service's (Supabase checks it) and never logged. " +
      'Answers {} when the message went out, else {"error": {"http_code", "message"}} with that status (Supabase retries 429 and 503). ' +
      "Does not exist (404) while SUPABASE_SMS_HOOK_SECRET is not set.",
    tag: "Webhooks",
    body: supabaseSendSmsBody,
    success: {
      status: 200,
      contentType: "application/json",
      description: "The message went out.",
      schema: supabaseHookResponse,
    },
    errorBody: supabaseHookError,
    errors: [
      "not_found",
      "invalid_request",
      "payload_too_large",
      "webhook_signature_invalid",
      ...PHONE_ERRORS,
      "too_many_attempts",
      "rate_limited",
      "sms_budget_exhausted",
      "sms_failed",
      "unavailable",
      "misconfigured",
    ],
  },
  {
    method: "post",
    path: "/token/refresh",
    operationId: "refreshToken",
    summary: "Rotate a refresh token and get a fresh access token",
    description:
      "The presented refresh token is replaced by a new one. Presenting the immediately previous token again within " +
      "REFRESH_REUSE_GRACE_SECONDS of its rotation (a retry, or two refreshes racing) answers the same successor; " +
      "presenting an older token, or the previous one after that window, is reuse: 401 and the whole session ends. " +
      "Failed refreshes are limited per client address (REFRESH_MAX_PER_IP_PER_HOUR): past that, 429; a valid " +
      "token is never refused by that limit.",
    tag: "Sessions",
    body: refreshTokenBody,
    success: { status: 200, contentType: "application/json", description: "Rotated.", schema: tokenRefreshResponse },
    errors: [...BODY_ERRORS, "invalid_refresh_token", "rate_limited", "unavailable", "misconfigured"],
  },
  {
    method: "post",
    path: "/logout",
    operationId: "logout",
    summary: "End the session of a refresh token",
    description:
      "The session ends at once; access tokens already issued stay valid until they expire (JWT_TTL_SECONDS). Answers 204 also when the session had already ended.",
    tag: "Sessions",
    body: refreshTokenBody,
    success: { status: 204, description: "The session has ended." },
    errors: [...BODY_ERRORS, "invalid_refresh_token", "unavailable", "misconfigured"],
  },
  {
    method: "post",
    path: "/logout-all",
    operationId: "logoutAll",
    summary: "End every session of the access token's number",
    description: "Every refresh token of the number stops working at once (sign out everywhere).",
    tag: "Sessions",
    bearer: true,
    success: { status: 204, description: "Every session has ended." },
    errors: ["invalid_token", "unavailable", "misconfigured"],
  },
  {
    method: "get",
    path: "/sessions",
    operationId: "listSessions",
    summary: "The live sessions of the access token's number",
    description: "Most recently used first; `current` marks the session of the access token making the request.",
    tag: "Sessions",
    bearer: true,
    success: { status: 200, contentType: "application/json", description: "The sessions.", schema: sessionsResponse },
    errors: ["invalid_token", "unavailable", "misconfigured"],
  },
  {
    method: "delete",
    path: "/sessions/{id}",
    operationId: "deleteSession",
    summary: "End one session of the access token's number",
    description: "An id that is not a live session of this number (another number's, or none) is session_not_found.",
    tag: "Sessions",
    bearer: true,
    params: { id: "The session id (from GET /sessions, or an access token's sid)." },
    success: { status: 204, description: "The session has ended." },
    errors: ["invalid_token", "session_not_found", "unavailable", "misconfigured"],
  },
  {
    method: "get",
    path: "/.well-known/jwks.json",
    operationId: "getJwks",
    summary: "Public keys that verify access tokens",
    description:
      "The current signing key and any retired keys still published (JWT_PREVIOUS_PUBLIC_KEYS). Empty with HS256 tokens. Cacheable for 5 minutes.",
    tag: "Tokens",
    success: { status: 200, contentType: "application/jwk-set+json", description: "A JWK set.", schema: jwksResponse },
    errors: ["misconfigured"],
  },
  {
    method: "get",
    path: "/health",
    operationId: "getHealth",
    summary: "Liveness, and whether the settings are valid",
    description: "Reads no storage. Test numbers appear only as a count.",
    tag: "Service",
    success: {
      status: 200,
      contentType: "application/json",
      description: "The service is up.",
      schema: healthResponse,
    },
    errors: [],
  },
  {
    method: "get",
    path: "/dev/outbox",
    operationId: "getDevOutbox",
    summary: "Messages the console SMS provider kept (development only)",
    description:
      "Exists only while SMS_PROVIDER is console, which sends no SMS: the recent messages, newest first. Answers 404 with a real provider.",
    tag: "Service",
    query: { phone: "Only messages to this number (any accepted form)." },
    success: { status: 200, contentType: "application/json", description: "Recent messages.", schema: outboxResponse },
    errors: ["not_found", ...PHONE_ERRORS, "misconfigured"],
  },
  {
    method: "get",
    path: "/",
    operationId: "getSignInPage",
    summary: "A sign-in page to try the flow in a browser",
    description:
      "Phone number, code, and the decoded token. With the console SMS provider it shows the dev outbox. " +
      "When the settings are invalid it still renders, with status 500, naming the settings to fix.",
    tag: "Pages",
    success: { status: 200, contentType: "text/html", description: "The page." },
    errors: [],
    htmlError: "The settings are invalid: the page names the settings to fix (never their values) and sign-in is off.",
  },
  {
    method: "get",
    path: "/openapi.json",
    operationId: "getOpenApi",
    summary: "This API description (OpenAPI 3.1)",
    description: "Generated from the schemas the routes validate with.",
    tag: "Pages",
    success: { status: 200, contentType: "application/json", description: "The OpenAPI document." },
    errors: [],
  },
  {
    method: "get",
    path: "/docs",
    operationId: "getDocs",
    summary: "This API description as a readable page",
    description: "Rendered on the server from /openapi.json; loads nothing from elsewhere.",
    tag: "Pages",
    success: { status: 200, contentType: "text/html", description: "The page." },
    errors: [],
  },
  {
    method: "get",
    path: "/admin",
    operationId: "getAdminDashboard",
    summary: "The operator's dashboard",
    description:
      "Asks for ADMIN_TOKEN and keeps it in memory only; shows today's and the last 14 days' figures with charts, the blocked number ranges with lift, and a number look-up with unlock and end sessions. " +
      "Does not exist (404) while ADMIN_TOKEN is not set.",
    tag: "Admin",
    success: { status: 200, contentType: "text/html", description: "The page." },
    errors: ["not_found", "misconfigured"],
  },
  {
    method: "get",
    path: "/admin/numbers/{phone}",
    operationId: "adminGetNumber",
    summary: "A number's state: sends, wrong codes, lock, live code, sessions, last SMS, deliveries",
    description:
      "Read-only. Never a code, a hash, an id or a token. deliveries: every message of the number's recent codes, with its gateway's reports.",
    tag: "Admin",
    admin: true,
    params: ADMIN_PHONE,
    success: {
      status: 200,
      contentType: "application/json",
      description: "The number's state.",
      schema: adminNumberResponse,
    },
    errors: [...ADMIN_ERRORS, ...PHONE_ERRORS],
  },
  {
    method: "post",
    path: "/admin/numbers/{phone}/unlock",
    operationId: "adminUnlockNumber",
    summary: "Clear a number's wrong codes, lock and send limits",
    description: "Its owner can get a code at once. Live codes and sessions stay.",
    tag: "Admin",
    admin: true,
    params: ADMIN_PHONE,
    success: { status: 204, description: "Unlocked." },
    errors: [...ADMIN_ERRORS, ...PHONE_ERRORS],
  },
  {
    method: "delete",
    path: "/admin/numbers/{phone}/sessions",
    operationId: "adminEndSessions",
    summary: "End every session of a number",
    description: "Every refresh token of the number stops working; access tokens already issued run out on their own.",
    tag: "Admin",
    admin: true,
    params: ADMIN_PHONE,
    success: { status: 204, description: "Every session has ended." },
    errors: [...ADMIN_ERRORS, ...PHONE_ERRORS],
  },
  {
    method: "get",
    path: "/admin/stats",
    operationId: "adminGetStats",
    summary: "A day's exact figures: sends, SMS, calls, verifications, conversion, budget, by gateway and country",
    description:
      "conversion_rate is the numbers that verified a code that day ÷ the numbers sent a code that day. Counts are kept for 35 days.",
    tag: "Admin",
    admin: true,
    query: { day: "The UTC day, YYYY-MM-DD (default: today)." },
    success: {
      status: 200,
      contentType: "application/json",
      description: "The day's figures.",
      schema: adminStatsResponse,
    },
    errors: [...ADMIN_ERRORS, "invalid_request"],
  },
  {
    method: "get",
    path: "/admin/blocks",
    operationId: "adminListBlocks",
    summary: "The number ranges the fraud guard blocks now",
    description:
      "A range is blocked once FRAUD_RANGE_MAX_UNVERIFIED codes sent to its numbers within the hour were never verified; its sends answer 403 fraud_suspected until the block ends.",
    tag: "Admin",
    admin: true,
    success: {
      status: 200,
      contentType: "application/json",
      description: "The active blocks.",
      schema: adminBlocksResponse,
    },
    errors: [...ADMIN_ERRORS],
  },
  {
    method: "delete",
    path: "/admin/blocks/{range}",
    operationId: "adminLiftBlock",
    summary: "Lift a number range's block",
    description:
      "Its sends go out again at once, and the range starts afresh: its unverified count and earlier blocks are forgotten. 204 also when it was not blocked.",
    tag: "Admin",
    admin: true,
    params: { range: "The range as GET /admin/blocks lists it (URL-encode the +: %2B91987654)." },
    success: { status: 204, description: "Lifted." },
    errors: [...ADMIN_ERRORS, "invalid_request"],
  },
];
