import { Hono } from "hono";
import { clientKey } from "../../domain/guards/client-address";
import { refreshSession } from "../../domain/sessions/session-service";
import type { AppEnv } from "../core/app-env";
import { tokenAnswer } from "../core/token-answer";
import { validateJson } from "../core/validate-json";
import { sessionDeps } from "../deps/session-deps";
import { jsonBody, MAX_JSON_BODY_BYTES } from "../middleware/json-body";
import { settingsAndKeys } from "../middleware/settings-and-keys";
import { refreshTokenBody, type TokenRefreshResponse } from "../schemas/session-schemas";

/**
 * POST /token/refresh {"refresh_token"}: rotate the refresh token and answer a
 * fresh access token. A retry or a race inside REFRESH_REUSE_GRACE_SECONDS
 * gets the same successor; reuse of an older token ends the session (401).
 */
export const tokenRefreshRoute = new Hono<AppEnv>().post(
  "/token/refresh",
  settingsAndKeys(),
  jsonBody(MAX_JSON_BODY_BYTES),
  validateJson(refreshTokenBody),
  async (c) => {
    const body = c.req.valid("json");
    const session = await refreshSession(
      sessionDeps(c),
      body.refresh_token,
      clientKey(c.req.header("cf-connecting-ip")),
    );
    c.set("phone", session.e164);
    const tokens = await tokenAnswer(c.var, session.e164, session);
    c.header("cache-control", "no-store");
    return c.json(tokens satisfies TokenRefreshResponse, 200);
  },
);
