import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { Settings } from "../../kernel/config/settings";
import { memoizeByObject } from "../../kernel/memo";
import type { ConfiguredEnv } from "../core/app-env";

const corsFor = memoizeByObject((settings: Settings) => {
  const origins = settings.corsOrigins;
  return cors({
    origin: origins.includes("*") ? "*" : [...origins],
    allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
    allowHeaders: ["Content-Type", "Authorization"],
    exposeHeaders: ["Retry-After", "X-Request-Id", "WWW-Authenticate"],
    maxAge: 600,
  });
});

/** Hono's cors middleware for the origins in CORS_ORIGINS; no CORS headers at all when it is empty. */
export function corsFromSettings(): MiddlewareHandler<ConfiguredEnv> {
  return async function corsFromSettingsMiddleware(c, next) {
    const settings = c.get("settings");
    // The operator's API is not for browsers of other origins: no CORS under /admin.
    if (settings.corsOrigins.length === 0 || c.req.path.startsWith("/admin")) return next();
    return corsFor(settings)(c, next);
  };
}
