/**
 * `phone-otp/verify`: for the app's backends (Node 20+, Deno, Bun, Workers),
 * check this service's access tokens. It needs only jose. The Hono
 * middleware is `phone-otp/verify/hono` (./hono.ts). See docs/tokens.md,
 * "Verifying tokens in your backend", and docs/sdk.md.
 */

export {
  type AccessTokenAlg,
  type AccessTokenVerifierOptions,
  createAccessTokenVerifier,
  InvalidAccessTokenError,
  type PhoneClaims,
} from "./verify-access-token.js";
export { type VerifyAccessTokenOptions, verifyAccessToken } from "./verify-access-token-cached.js";
