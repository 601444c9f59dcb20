import type { MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { tokenKeysFor } from "../../domain/tokens/token-keys";
import { loadSettings } from "../../kernel/config/settings";
import { NotFoundError } from "../../kernel/errors/service-error";
import type { AppEnv, ConfiguredEnv } from "../core/app-env";
import { corsFromSettings } from "./cors-from-settings";

/**
 * Validates the environment and imports the signing keys (once per isolate),
 * exposing them as c.var.settings and c.var.tokenKeys, then applies the CORS
 * policy of CORS_ORIGINS; refuses with `misconfigured` otherwise, before the
 * route does anything. Routes put it first in their own chain: the variables
 * are typed only after it (ConfiguredEnv).
 */
export function settingsAndKeys() {
  const cors = corsFromSettings();
  return createMiddleware<ConfiguredEnv>(async function settingsAndKeysMiddleware(c, next) {
    const settings = loadSettings(c.env);
    c.set("settings", settings);
    c.set("tokenKeys", await tokenKeysFor(settings));
    return cors(c, next);
  });
}

/**
 * A CORS preflight (OPTIONS) gets the policy of CORS_ORIGINS on any path;
 * with no origins configured it is a 404, as no route answers OPTIONS.
 */
export function corsPreflight(): MiddlewareHandler<AppEnv> {
  const configured = settingsAndKeys() as unknown as MiddlewareHandler<AppEnv>;
  return async function corsPreflightMiddleware(c, next) {
    if (c.req.method !== "OPTIONS") return next();
    return configured(c, async () => {
      throw new NotFoundError("There is nothing at this address. See /docs for the API.");
    });
  };
}
