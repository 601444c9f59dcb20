/** The Worker: the Hono app as the default export, and the Durable Object classes it binds. */

import { sendFallback } from "./domain/otp/fallback";
import { loadSettings } from "./kernel/config/settings";
import type { FallbackPlan, FallbackResult } from "./platform/limiter/limiter-types";
import { PhoneLimiter as PhoneLimiterBase } from "./platform/limiter/phone-limiter";

export type { AppType } from "./http/app";
export { default } from "./http/app";
export { BudgetShard } from "./platform/limiter/budget-shard";
export { QuotaCounter } from "./platform/limiter/quota-counter";
export { RangeGuard } from "./platform/limiter/range-guard";
export { SessionStore } from "./platform/sessions/session-store";
export { StatsCounter } from "./platform/stats/stats-counter";

/**
 * The number's Durable Object (wrangler.toml's PhoneLimiter): the platform's
 * class, whose alarm sends a due fallback through the domain's rules
 * (domain/otp/fallback.ts) with this Worker's settings and bindings. The
 * counts of the fallback's message are written before the alarm ends.
 */
export class PhoneLimiter extends PhoneLimiterBase {
  protected override async sendFallback(codeId: string, plan: FallbackPlan): Promise<FallbackResult> {
    const work: Promise<unknown>[] = [];
    try {
      return await sendFallback(
        {
          settings: loadSettings(this.env),
          budgets: this.env.BUDGET_SHARD,
          ranges: this.env.RANGE_GUARD,
          stats: this.env.STATS_COUNTER,
          analytics: this.env.OTP_EVENTS,
          background: (w) => work.push(w),
        },
        codeId,
        plan,
      );
    } finally {
      await Promise.allSettled(work);
    }
  }
}
