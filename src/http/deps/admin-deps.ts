import type { Context } from "hono";
import type { AdminDeps } from "../../domain/admin/admin-service";
import type { ConfiguredEnv } from "../core/app-env";

/** The operator's rules' dependencies for this request. */
export function adminDeps(c: Context<ConfiguredEnv>): AdminDeps {
  return {
    settings: c.get("settings"),
    limiters: c.env.PHONE_LIMITER,
    stores: c.env.SESSION_STORE,
    stats: c.env.STATS_COUNTER,
    ranges: c.env.RANGE_GUARD,
    analytics: c.env.OTP_EVENTS,
    background: (work) => c.executionCtx.waitUntil(work),
    events: c.env.EVENTS_QUEUE,
  };
}
