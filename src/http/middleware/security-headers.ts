import type { MiddlewareHandler } from "hono";

/**
 * Headers every response carries: no MIME sniffing, no referrer leaks, and
 * `Cache-Control: no-store` unless the route chose its own caching (only the
 * JWKS, /openapi.json and /docs are cacheable).
 */
export function securityHeaders(): MiddlewareHandler {
  return async function securityHeadersMiddleware(c, next) {
    await next();
    c.res.headers.set("x-content-type-options", "nosniff");
    c.res.headers.set("referrer-policy", "no-referrer");
    if (!c.res.headers.has("cache-control")) c.res.headers.set("cache-control", "no-store");
  };
}
