import { Hono } from "hono";
import type { AppEnv } from "../core/app-env";
import { settingsAndKeys } from "../middleware/settings-and-keys";

/** How long verifiers may cache the key set. Key rotation (docs/tokens.md) waits at least this long between steps. */
export const JWKS_MAX_AGE_SECONDS = 300;

/**
 * GET /.well-known/jwks.json: the public keys that verify access tokens: the
 * current key and any retired keys in JWT_PREVIOUS_PUBLIC_KEYS. Empty with HS256.
 */
export const jwksRoute = new Hono<AppEnv>().get("/.well-known/jwks.json", settingsAndKeys(), (c) => {
  c.header("cache-control", `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
  c.header("content-type", "application/jwk-set+json");
  return c.body(JSON.stringify(c.get("tokenKeys").jwks), 200);
});
