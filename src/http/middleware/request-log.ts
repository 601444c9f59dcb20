import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { log } from "../../kernel/log/log";
import type { AppEnv } from "../core/app-env";

/**
 * One JSON line per request: method, path, status, duration, request id and
 * the masked number. A path no route matched is logged with anything that
 * looks like a phone number in it masked, and a path under /webhooks/ with
 * everything after the gateway's name left out (it may hold a secret: the
 * webhook's own route logs its pattern, /webhooks/:gateway/:secret). Bodies, codes, headers and tokens
 * are never logged. The request id comes from Cloudflare's cf-ray when present and is echoed
 * in the X-Request-Id header and in problem documents.
 */
export function requestLog(): MiddlewareHandler<AppEnv> {
  return async function requestLogMiddleware(c, next) {
    const started = Date.now();
    const requestId = c.req.header("cf-ray") ?? crypto.randomUUID();
    c.set("requestId", requestId);
    await next();
    c.header("x-request-id", requestId);
    log("request", {
      method: c.req.method,
      // The route's pattern (/admin/numbers/:phone), never a number that is part of the path; a
      // path no route matched (a 404) is logged with anything that looks like a number masked (by log).
      path: routeOf(c.req.method, matchedRoutes(c)) ?? withoutSecrets(c.req.path),
      status: c.res.status,
      duration_ms: Date.now() - started,
      request_id: requestId,
      phone: c.get("phone") || undefined,
    });
  };
}

/** The pattern of the route that answered (the last one registered for this method), if any. */
function routeOf(method: string, routes: readonly { method: string; path: string }[]): string | undefined {
  return routes.filter((r) => r.method === method && r.path !== "/*" && r.path !== "*").at(-1)?.path;
}

/** A run of token-like characters as long as a secret (32 bytes and more): never logged as it is. */
const OPAQUE_RUN = /[A-Za-z0-9_~.%+=-]{24,}/g;

/**
 * A path no route matched, as it may be logged: under /webhooks/, only the
 * gateway's segment is kept; anywhere else, every run of token-like
 * characters long enough to be a secret (a webhook URL mistyped or behind a
 * prefix) is left out.
 */
export function withoutSecrets(path: string): string {
  const webhook = /^\/+webhooks(\/+[^/]*)?\/./i.exec(path);
  return webhook ? `/webhooks${webhook[1] ?? ""}/[secret]` : path.replace(OPAQUE_RUN, "[redacted]");
}
