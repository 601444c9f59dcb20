import type { Context } from "hono";
import type { DeliveryDeps } from "../../domain/otp/code-delivery";
import type { ConfiguredEnv } from "../core/app-env";

/** The delivery rules' dependencies for this request (webhooks, /verification-status). */
export function deliveryDeps(c: Context<ConfiguredEnv>): DeliveryDeps {
  return {
    settings: c.get("settings"),
    limiters: c.env.PHONE_LIMITER,
    stats: c.env.STATS_COUNTER,
    background: (work) => c.executionCtx.waitUntil(work),
    events: c.env.EVENTS_QUEUE,
  };
}
