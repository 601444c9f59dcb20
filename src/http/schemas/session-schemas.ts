import * as z from "zod/mini";

/** Request and response shapes of the session routes (see api-schemas.ts for the conventions). */

const seconds = (description: string) => z.int().check(z.minimum(0), z.describe(description));

const refreshToken = z
  .string()
  .check(
    z.minLength(1, "must not be empty"),
    z.maxLength(512, "is too long"),
    z.describe("The opaque refresh token from /verify-otp or the last /token/refresh."),
  );

/** The fields /verify-otp and /token/refresh both answer with. */
export const refreshFields = {
  refresh_token: z
    .string()
    .check(z.describe("Opaque; rotates on every refresh. Keep it secret, send it only to /token/refresh and /logout.")),
  refresh_expires_in: seconds(
    "Seconds until the session ends unless refreshed: the idle limit (REFRESH_TOKEN_TTL_SECONDS) or the absolute one (SESSION_MAX_AGE_SECONDS), whichever is sooner.",
  ),
};

export const refreshTokenBody = z.strictObject({ refresh_token: refreshToken });

export const tokenRefreshResponse = z.object({
  access_token: z
    .string()
    .check(z.describe("A signed JWT: sub and phone_number are the E.164 number, sid the session.")),
  token_type: z.literal("Bearer"),
  expires_in: seconds("Seconds until the access token expires (JWT_TTL_SECONDS)."),
  ...refreshFields,
  firebase_token: z.optional(
    z.string().check(z.describe("A Firebase custom token; only when FIREBASE_SERVICE_ACCOUNT is set.")),
  ),
});

export const sessionsResponse = z.object({
  sessions: z.array(
    z.object({
      id: z.string().check(z.describe("The session id (the access token's sid).")),
      created_at: z.string().check(z.describe("ISO 8601: when the session started (the verify).")),
      last_used_at: z.string().check(z.describe("ISO 8601: the last refresh.")),
      expires_at: z.string().check(z.describe("ISO 8601: when it ends unless refreshed.")),
      current: z.boolean().check(z.describe("True for the session of the access token making this request.")),
      client: z.nullable(z.string().check(z.describe('A coarse description of the client, e.g. "Chrome on Android".'))),
    }),
  ),
});

export type TokenRefreshResponse = z.output<typeof tokenRefreshResponse>;
export type SessionsResponse = z.output<typeof sessionsResponse>;
