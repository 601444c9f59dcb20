import type { MiddlewareHandler } from "hono";
import { loadSettings } from "../../kernel/config/settings";
import { tokenKeysFor } from "../../domain/tokens/token-keys";
import type { AppEnv } from "../core/app-env";

/**
 * Validates the environment and imports the signing keys (once per isolate),
 * exposing them as c.var.settings and c.var.tokenKeys; refuses with
 * `misconfigured` otherwise, before the route does anything.
 */
export function withSettings(): MiddlewareHandler<AppEnv> {
  return async function withSettingsMiddleware(c, next) {
    const settings = loadSettings(c.env);
    c.set("settings", settings);
    c.set("tokenKeys", await tokenKeysFor(settings));
    await next();
  };
}
