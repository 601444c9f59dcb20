import type { MiddlewareHandler } from "hono";
import type { JSONWebKeySet } from "jose";
import type { TokenKeys } from "../../domain/tokens/token-keys";
import type { Settings } from "../../kernel/config/settings";
import { InvalidTokenError } from "../../kernel/errors/service-error";
import { createAccessTokenVerifier, type PhoneClaims } from "../../verify/verify-access-token";
import type { ConfiguredEnv } from "../core/app-env";

type Verify = (token: string) => Promise<PhoneClaims>;
const verifiers = new WeakMap<Settings, Verify>();

/** This service's own access tokens, checked as any backend checks them (src/verify/). */
function verifierFor(settings: Settings, keys: TokenKeys): Verify {
  let verify = verifiers.get(settings);
  if (!verify) {
    const common = { issuer: settings.jwt.issuer, audience: settings.jwt.audience };
    verify = settings.jwt.privateKey
      ? createAccessTokenVerifier({
          ...common,
          jwks: keys.jwks as JSONWebKeySet,
          algorithms: [...new Set(keys.jwks.keys.map((k) => k.alg as "EdDSA" | "ES256" | "RS256"))],
        })
      : createAccessTokenVerifier({ ...common, secret: settings.jwt.secret!, algorithms: ["HS256"] });
    verifiers.set(settings, verify);
  }
  return verify;
}

/**
 * `Authorization: Bearer <access token>` required: a valid access token of
 * this service sets c.var.auth (its number and session id). Access tokens are
 * stateless: a token stays valid until it expires even if its session ended.
 * Otherwise 401 invalid_token with `WWW-Authenticate: Bearer` (on-error.ts):
 * a bare `Bearer` when no Bearer credentials came, `Bearer error="invalid_token"`
 * when a token came and is not valid.
 */
export function bearerAuth(): MiddlewareHandler<ConfiguredEnv> {
  return async function bearerAuthMiddleware(c, next) {
    const header = c.req.header("authorization");
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header ?? "");
    if (!match) {
      throw new InvalidTokenError('Send the access token in the header "Authorization: Bearer <token>".', {
        // No header, or another scheme (Basic …): the client sent no Bearer credentials at all.
        credentialsMissing: header === undefined || !/^Bearer(?: |$)/i.test(header.trim()),
      });
    }
    let claims: PhoneClaims;
    try {
      claims = await verifierFor(c.get("settings"), c.get("tokenKeys"))(match[1]!);
    } catch {
      throw new InvalidTokenError("The access token is not valid or has expired. Refresh it, or sign in again.");
    }
    c.set("auth", { e164: claims.sub, sessionId: typeof claims.sid === "string" ? claims.sid : undefined });
    c.set("phone", claims.sub);
    await next();
  };
}
