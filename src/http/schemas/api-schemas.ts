import * as z from "zod/mini";
import { ERROR_CODES } from "../../kernel/errors/error-catalog";
import { PROBLEM_TYPE_BASE } from "../core/on-error";
import { refreshFields } from "./session-schemas";

/**
 * The shapes of the HTTP API. Request bodies are what the routes validate
 * with (core/validate-json.ts); response bodies are what the routes' answers are
 * type-checked against (`satisfies`). Both feed the OpenAPI document
 * (src/http/openapi/), and the tests check every answer against them.
 */

const phone = z.string().check(
  z.minLength(1, "must not be empty"),
  z.maxLength(64, "is too long"),
  z.meta({
    description: "A mobile number: E.164 or a form people type in India (+91 98765 43210, 09876543210, 9876543210).",
    examples: ["+919876543210"],
  }),
);

const seconds = (description: string) => z.int().check(z.minimum(0), z.describe(description));

const e164 = z.string().check(z.meta({ description: "The number in E.164.", examples: ["+919876543210"] }));

/** Request bodies. Unknown fields are refused; phone numbers are checked by phone/normalize-phone.ts. */
export const sendOtpBody = z.strictObject({
  phone,
  /** Required when TURNSTILE_SECRET_KEY is set (checked in guards/verify-turnstile.ts). */
  turnstile_token: z.optional(
    z
      .string()
      .check(
        z.maxLength(2048, "is too long"),
        z.describe("Cloudflare Turnstile token; required when the service has TURNSTILE_SECRET_KEY set."),
      ),
  ),
  channel: z.optional(
    z
      .enum(["sms", "voice", "whatsapp"])
      .check(
        z.describe(
          "sms (default); voice: a call that speaks the code, through the first gateway that can call (channel_not_available when none can); whatsapp: a WhatsApp authentication template, falling back to SMS with the same code when WhatsApp cannot deliver (channel_not_available when WhatsApp is not configured).",
        ),
      ),
  ),
});

const verificationId = z.string().check(
  z.minLength(1, "must not be empty"),
  z.maxLength(64, "is too long"),
  z.meta({
    description:
      "The verification_id that /send-otp answered for this code. Required unless the service sets OTP_REQUIRE_VERIFICATION_ID=false.",
    examples: ["q3Yx0bV1n8WZr5m2Kd7tQAZ0m5WVvR2kq9XbTe"],
  }),
);

export const verifyOtpBody = z.strictObject({
  phone,
  verification_id: z.optional(verificationId),
  otp: z
    .string()
    .check(
      z.regex(/^[0-9]{4,10}$/, "must be the 4-10 digit code from the SMS"),
      z.meta({ description: "The code from the SMS (OTP_LENGTH digits).", examples: ["123456"] }),
    ),
});

export const verificationStatusBody = z.strictObject({
  phone,
  verification_id: verificationId.check(
    z.meta({ description: "The verification_id that /send-otp answered for this code." }),
  ),
});

/** Response bodies. */
export const sendOtpResponse = z.object({
  message: z.literal("OTP sent successfully"),
  phone: e164,
  verification_id: z
    .string()
    .check(
      z.describe(
        "Names this one code: send it back with the code to /verify-otp. 128 random bits, the time it was made and a 64-bit tag: 38 URL-safe characters.",
      ),
    ),
  expires_in: seconds("Seconds until the code expires (OTP_TTL_SECONDS)."),
  resend_after: seconds("Seconds until another code may be sent to this number."),
  channel: z
    .enum(["sms", "voice", "whatsapp"])
    .check(
      z.describe("The channel the code went out on: the one asked for, or sms when a whatsapp send fell back to SMS."),
    ),
});

export const verifyOtpResponse = z.object({
  message: z.literal("OTP verified successfully"),
  status: z.literal("success"),
  access_token: z.string().check(z.describe("A signed JWT: sub and phone_number are the E.164 number.")),
  token_type: z.literal("Bearer"),
  expires_in: seconds("Seconds until the access token expires (JWT_TTL_SECONDS)."),
  ...refreshFields,
  firebase_token: z.optional(
    z
      .string()
      .check(
        z.describe("A Firebase custom token for signInWithCustomToken(); only when FIREBASE_SERVICE_ACCOUNT is set."),
      ),
  ),
});

const deliveryStatus = z.enum(["pending", "delivered", "failed"]);
const channel = z.enum(["sms", "voice", "whatsapp"]);

export const verificationStatusResponse = z.object({
  status: deliveryStatus.check(
    z.describe(
      "delivered once any message of the code reached the phone; failed once every one failed; else pending (no report yet). A test number's code is delivered at once.",
    ),
  ),
  channel: channel.check(z.describe("The channel of the latest message (the one asked for, before any).")),
  messages: z
    .array(
      z.object({
        channel,
        status: deliveryStatus,
        sent_at: z.string().check(z.describe("ISO 8601 time the gateway accepted it.")),
        delivered_at: z.optional(z.string().check(z.describe("ISO 8601 time it reached the phone, once it did."))),
      }),
    )
    .check(z.describe("The messages that carried the code, oldest first; none for a test number.")),
  expires_in: seconds("Seconds until the code expires."),
});

/** A webhook's answer: always this, whatever the body said. */
export const webhookResponse = z.strictObject({});

export const healthResponse = z.object({
  status: z.literal("ok"),
  config: z.union([
    z.object({
      valid: z.literal(true),
      test_numbers: z.int().check(z.minimum(0), z.describe("How many TEST_PHONE_NUMBERS are set (never the numbers).")),
    }),
    z.object({ valid: z.literal(false) }),
  ]),
});

export const outboxResponse = z.object({
  messages: z.array(
    z.object({
      to: e164,
      text: z.string().check(z.describe("The SMS text, code included.")),
      sent_at: z.string().check(z.describe("ISO 8601 time the console provider took the message.")),
      channel,
      status: deliveryStatus.check(
        z.describe("pending until the console provider's made-up delivery report (CONSOLE_DELIVERY) was recorded."),
      ),
    }),
  ),
});

export const jwksResponse = z.object({
  keys: z.array(
    z.looseObject({
      kty: z.string(),
      kid: z.string(),
      alg: z.enum(["EdDSA", "ES256", "RS256"]),
      use: z.optional(z.literal("sig")),
    }),
  ),
});

/** Every error: RFC 9457 problem+json with a stable `code` (src/kernel/errors/error-catalog.ts). */
export const problemDocument = z.looseObject({
  type: z.string().check(z.describe(`${PROBLEM_TYPE_BASE}<code>`)),
  title: z.string(),
  status: z.int(),
  detail: z.string().check(z.describe("A sentence a person can act on.")),
  code: z.enum(ERROR_CODES),
  attempts_left: z.optional(z.int().check(z.minimum(0), z.describe("With otp_invalid: tries left for this code."))),
  request_id: z.optional(z.string().check(z.describe("The id of this request in the service's log."))),
});

export type SendOtpResponse = z.output<typeof sendOtpResponse>;
export type VerifyOtpResponse = z.output<typeof verifyOtpResponse>;
export type HealthResponse = z.output<typeof healthResponse>;
export type OutboxResponse = z.output<typeof outboxResponse>;
export type VerificationStatusResponse = z.output<typeof verificationStatusResponse>;
export type WebhookResponse = z.output<typeof webhookResponse>;
export type JwksResponse = z.output<typeof jwksResponse>;
