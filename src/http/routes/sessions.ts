import { Hono } from "hono";
import { endSession, listSessions } from "../../domain/sessions/session-service";
import type { AppEnv } from "../core/app-env";
import { sessionDeps } from "../deps/session-deps";
import { bearerAuth } from "../middleware/bearer-auth";
import { settingsAndKeys } from "../middleware/settings-and-keys";
import type { SessionsResponse } from "../schemas/session-schemas";

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * GET /sessions: the live sessions of the access token's number, the token's
 * own marked `current`. DELETE /sessions/{id}: end one of them; an id that is
 * not one of this number's sessions is 404 session_not_found.
 */
export const sessionsRoute = new Hono<AppEnv>()
  .get("/sessions", settingsAndKeys(), bearerAuth(), async (c) => {
    const auth = c.get("auth")!;
    const sessions = await listSessions(sessionDeps(c), auth);
    return c.json(
      {
        sessions: sessions.map((s) => ({
          id: s.id,
          created_at: iso(s.created_at),
          last_used_at: iso(s.last_used_at),
          expires_at: iso(s.expires_at),
          current: s.id === auth.sessionId,
          client: s.client,
        })),
      } satisfies SessionsResponse,
      200,
    );
  })
  .delete("/sessions/:id", settingsAndKeys(), bearerAuth(), async (c) => {
    await endSession(sessionDeps(c), c.get("auth")!, c.req.param("id"));
    return c.body(null, 204);
  });
