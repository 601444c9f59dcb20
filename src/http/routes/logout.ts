import { Hono } from "hono";
import { logout, logoutAll } from "../../domain/sessions/session-service";
import type { AppEnv } from "../core/app-env";
import { validateJson } from "../core/validate-json";
import { sessionDeps } from "../deps/session-deps";
import { bearerAuth } from "../middleware/bearer-auth";
import { jsonBody, MAX_JSON_BODY_BYTES } from "../middleware/json-body";
import { settingsAndKeys } from "../middleware/settings-and-keys";
import { refreshTokenBody } from "../schemas/session-schemas";

/**
 * POST /logout {"refresh_token"}: that token's session ends (204, also when it
 * had already ended). POST /logout-all with a Bearer access token: every
 * session of the token's number ends.
 */
export const logoutRoute = new Hono<AppEnv>()
  .post("/logout", settingsAndKeys(), jsonBody(MAX_JSON_BODY_BYTES), validateJson(refreshTokenBody), async (c) => {
    await logout(sessionDeps(c), c.req.valid("json").refresh_token);
    return c.body(null, 204);
  })
  .post("/logout-all", settingsAndKeys(), bearerAuth(), async (c) => {
    await logoutAll(sessionDeps(c), c.get("auth")!);
    return c.body(null, 204);
  });
