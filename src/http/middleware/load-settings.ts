import type { MiddlewareHandler } from "hono";
import { loadSettings } from "../../config/settings";
import type { AppEnv } from "../app-env";

/** Validates the environment (once per isolate) and exposes it as c.var.settings; refuses with `misconfigured` otherwise. */
export function withSettings(): MiddlewareHandler<AppEnv> {
  return async function withSettingsMiddleware(c, next) {
    c.set("settings", loadSettings(c.env));
    await next();
  };
}
