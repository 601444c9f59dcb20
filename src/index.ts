/** The Worker: the Hono app as the default export (with the events queue's consumer), and the Durable Object classes it binds. */

import { type AppEvent, type EventDeps, emitEvent, emitEvents, sessionsEnded } from "./domain/events/app-events";
import { sendFallback } from "./domain/otp/fallback";
import app from "./http/app";
import { loadSettings, type Settings } from "./kernel/config/settings";
import type { NormalizedPhone } from "./kernel/phone/normalize-phone";
import { deliverEvents } from "./platform/events/event-delivery";
import type { EventMessage } from "./platform/events/event-message";
import type { FallbackPlan, FallbackResult } from "./platform/limiter/limiter-types";
import { PhoneLimiter as PhoneLimiterBase } from "./platform/limiter/phone-limiter";
import { SessionStore as SessionStoreBase } from "./platform/sessions/session-store";
import type { Channel } from "./platform/sms/sms-gateway";

export type { AppType } from "./http/app";
export { BudgetShard } from "./platform/limiter/budget-shard";
export { QuotaCounter } from "./platform/limiter/quota-counter";
export { RangeGuard } from "./platform/limiter/range-guard";
export { StatsCounter } from "./platform/stats/stats-counter";

/** The settings, or undefined while they are invalid (every route then answers misconfigured). */
function settingsOrNothing(env: Env): Settings | undefined {
  try {
    return loadSettings(env);
  } catch {
    return undefined;
  }
}

/**
 * EVENTS_QUEUE's consumer (wrangler.toml [[queues.consumers]]): posts each
 * event, signed, to EVENTS_WEBHOOK_URL (platform/events/event-delivery.ts).
 * While the settings are invalid nothing is posted, and the batch waits a minute.
 */
async function queue(batch: MessageBatch<EventMessage>, env: Env, _ctx: ExecutionContext): Promise<void> {
  let settings: Settings;
  try {
    settings = loadSettings(env);
  } catch {
    batch.retryAll({ delaySeconds: 60 });
    return;
  }
  await deliverEvents(batch, settings.events);
}

export default Object.assign(app, { queue });

/** What a Durable Object of this Worker needs to emit the app's events from its own calls and alarms. */
function objectEventDeps(env: Env, ctx: DurableObjectState): EventDeps | undefined {
  const settings = settingsOrNothing(env);
  return settings && { settings, events: env.EVENTS_QUEUE, background: (work) => ctx.waitUntil(work) };
}

/**
 * The number's Durable Object (wrangler.toml's PhoneLimiter): the platform's
 * class, whose alarm sends a due fallback through the domain's rules
 * (domain/otp/fallback.ts) with this Worker's settings and bindings. The
 * counts of the fallback's message are written before the alarm ends. A
 * code none of whose messages was delivered, with nothing left to send, is
 * `verification.failed` for the app.
 */
export class PhoneLimiter extends PhoneLimiterBase {
  protected override sessionsExpired(sessions: readonly { id: string; e164: string }[]): void {
    reportExpired(this.env, this.ctx, sessions);
  }

  protected override codeUndelivered(codeId: string, to: NormalizedPhone, channel: Channel): void {
    const deps = objectEventDeps(this.env, this.ctx);
    if (deps) emitEvent(deps, "verification.failed", { phone: to.e164, verification_id: codeId, channel });
  }

  protected override async sendFallback(codeId: string, plan: FallbackPlan): Promise<FallbackResult> {
    const work: Promise<unknown>[] = [];
    try {
      const deps = {
        settings: loadSettings(this.env),
        budgets: this.env.BUDGET_SHARD,
        ranges: this.env.RANGE_GUARD,
        events: this.env.EVENTS_QUEUE,
        stats: this.env.STATS_COUNTER,
        analytics: this.env.OTP_EVENTS,
        background: (w: Promise<unknown>) => work.push(w),
      };
      return await sendFallback(deps, codeId, plan);
    } finally {
      await Promise.allSettled(work);
    }
  }
}

/** The number's sessions made before they moved to its PhoneLimiter (wrangler.toml's SessionStore): expired ones become `session.ended` events. */
export class SessionStore extends SessionStoreBase {
  protected override sessionsExpired(sessions: readonly { id: string; e164: string }[]): void {
    reportExpired(this.env, this.ctx, sessions);
  }
}

/** Sessions that expired in an object (pruned by a call or its alarm): `session.ended` events, one batch per number. */
function reportExpired(env: Env, ctx: DurableObjectState, sessions: readonly { id: string; e164: string }[]): void {
  const deps = objectEventDeps(env, ctx);
  if (!deps) return;
  const events: AppEvent[] = [];
  for (const e164 of new Set(sessions.map((s) => s.e164))) {
    const ids = sessions.filter((s) => s.e164 === e164).map((s) => s.id);
    events.push(...sessionsEnded(e164, ids, "expired"));
  }
  emitEvents(deps, events);
}
