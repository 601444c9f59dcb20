import type { Context } from "hono";
import type { SessionDeps } from "../../domain/sessions/session-service";
import type { ConfiguredEnv } from "../core/app-env";

/** The session rules' dependencies for this request. */
export function sessionDeps(c: Context<ConfiguredEnv>): SessionDeps {
  return {
    settings: c.get("settings"),
    limiters: c.env.PHONE_LIMITER,
    stores: c.env.SESSION_STORE,
    quotas: c.env.QUOTA_COUNTER,
    background: (work) => c.executionCtx.waitUntil(work),
    events: c.env.EVENTS_QUEUE,
  };
}
