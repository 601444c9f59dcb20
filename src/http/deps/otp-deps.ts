import type { Context } from "hono";
import type { OtpDeps } from "../../domain/otp/otp-service";
import { smsGatewayFor } from "../../platform/sms/gateway-for";
import type { ConfiguredEnv } from "../core/app-env";

/** The OTP rules' dependencies for this request, from the bindings and settings. */
export function otpDeps(c: Context<ConfiguredEnv>): OtpDeps {
  const settings = c.get("settings");
  return {
    settings,
    kv: c.env.OTP_KV,
    limiters: c.env.PHONE_LIMITER,
    quotas: c.env.QUOTA_COUNTER,
    budgets: c.env.BUDGET_SHARD,
    ranges: c.env.RANGE_GUARD,
    sms: smsGatewayFor(settings),
    stats: c.env.STATS_COUNTER,
    analytics: c.env.OTP_EVENTS,
    background: (work) => c.executionCtx.waitUntil(work),
    events: c.env.EVENTS_QUEUE,
  };
}
