import type { MiddlewareHandler } from "hono";
import {
  type AccessTokenVerifierOptions,
  createAccessTokenVerifier,
  InvalidAccessTokenError,
  type PhoneClaims,
} from "./verify-access-token.js";

/** What phoneAuth() adds to the context: `c.get("phoneAuth").sub` is the verified E.164 number. */
export interface PhoneAuthVariables {
  phoneAuth: PhoneClaims;
}

/**
 * Hono middleware for the app's other services: requires `Authorization:
 * Bearer <access token>` from this phone-otp service, verified with
 * createAccessTokenVerifier (options checked once, when the middleware is
 * made). Refuses with 401 problem+json and a WWW-Authenticate challenge.
 */
export function phoneAuth(options: AccessTokenVerifierOptions): MiddlewareHandler<{ Variables: PhoneAuthVariables }> {
  const verify = createAccessTokenVerifier(options);
  return async function phoneAuthMiddleware(c, next) {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/.exec(header);
    // No Bearer credentials at all: RFC 6750 section 3.1 asks for the bare challenge, without an error code.
    const missing = !/^Bearer\s/i.test(header);
    try {
      if (!match) throw new InvalidAccessTokenError("missing bearer token");
      c.set("phoneAuth", await verify(match[1]!));
    } catch (err) {
      if (!(err instanceof InvalidAccessTokenError)) throw err;
      return new Response(
        JSON.stringify({
          type: "urn:phone-otp:problem:invalid_token",
          title: "Invalid access token",
          status: 401,
          detail: "Sign in again: the access token is missing, expired or not valid here.",
          code: "invalid_token",
        }),
        {
          status: 401,
          headers: {
            "content-type": "application/problem+json",
            "www-authenticate": missing ? "Bearer" : `Bearer error="invalid_token"`,
            "cache-control": "no-store",
          },
        },
      );
    }
    await next();
  };
}
