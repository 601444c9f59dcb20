import { Hono } from "hono";
import { logout, logoutAll } from "../../sessions/session-service";
import type { AppEnv } from "../app-env";
import { bearerAuth } from "../middleware/bearer-auth";
import { jsonBody, MAX_JSON_BODY_BYTES } from "../middleware/json-body";
import { sessionDeps } from "../session-deps";
import { refreshTokenBody } from "../session-schemas";
import { validateJson } from "../validate-json";

/**
 * POST /logout {"refresh_token"}: that token's session ends (204, also when it
 * had already ended). POST /logout-all with a Bearer access token: every
 * session of the token's number ends.
 */
export const logoutRoute = new Hono<AppEnv>()
  .post("/logout", jsonBody(MAX_JSON_BODY_BYTES), validateJson(refreshTokenBody), async (c) => {
    await logout(sessionDeps(c), c.req.valid("json").refresh_token);
    return c.body(null, 204);
  })
  .post("/logout-all", bearerAuth(), async (c) => {
    await logoutAll(sessionDeps(c), c.get("auth")!.e164);
    return c.body(null, 204);
  });
