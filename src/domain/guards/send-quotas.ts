import { describeWait } from "../../kernel/describe-wait";
import { RateLimitedError, type ServiceError, SmsBudgetExhaustedError } from "../../kernel/errors/service-error";
import { HOUR_MS } from "../../kernel/time";
import { type QuotaCounter, quotaCounterFor } from "../../platform/limiter/quota-counter";

/** Longer than a day, so no hit ages out of a day's budget before the day is over. */
const BUDGET_WINDOW_MS = 26 * HOUR_MS;

type Counters = DurableObjectNamespace<QuotaCounter>;

/**
 * One counter a send takes a hit from. `take` resolves to the refusal to
 * answer with, or undefined when the hit was taken; `release` gives the hit
 * back and does nothing when there is none, so it is safe to call whatever
 * `take` did (refused, failed, or answered too late).
 */
export interface QuotaHold {
  take(): Promise<ServiceError | undefined>;
  release(): Promise<void>;
}

/** OTP_MAX_SENDS_PER_IP_PER_HOUR sends per client key (see client-address.ts), counted exactly. */
export function clientQuota(ns: Counters, client: string, limit: number): QuotaHold {
  const counter = quotaCounterFor(ns, `ip:${client}`);
  const ticket = crypto.randomUUID();
  return {
    async take() {
      const result = await counter.take(ticket, limit, HOUR_MS);
      if (result.outcome === "taken") return undefined;
      const seconds = result.retryAfterMs / 1000;
      return new RateLimitedError(
        `Too many codes were requested from your network. Try again in ${describeWait(seconds)}.`,
        { retryAfter: seconds },
      );
    },
    release: () => counter.release(ticket),
  };
}

/** What a voice call takes from SMS_DAILY_BUDGET: it costs the operator about twice an SMS (README, "Gateways"). */
export const VOICE_BUDGET_UNITS = 2;

/**
 * The global SMS_DAILY_BUDGET for the current UTC day: a circuit breaker
 * against SMS pumping and runaway cost. A send takes `units` of it (a voice
 * call VOICE_BUDGET_UNITS), all or none: the hits are taken concurrently, in
 * the same round trip, and given back together when any is refused.
 */
export function smsBudget(ns: Counters, budget: number, now = Date.now(), units = 1): QuotaHold {
  const day = new Date(now).toISOString().slice(0, 10);
  const counter = quotaCounterFor(ns, `sms-budget:${day}`);
  const tickets = Array.from({ length: units }, () => crypto.randomUUID());
  const release = async () => {
    await Promise.all(tickets.map((ticket) => counter.release(ticket)));
  };
  return {
    async take() {
      const results = await Promise.all(tickets.map((ticket) => counter.take(ticket, budget, BUDGET_WINDOW_MS)));
      if (results.every((r) => r.outcome === "taken")) return undefined;
      await release();
      const date = new Date(now);
      const nextDay = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1);
      const seconds = (nextDay - now) / 1000;
      return new SmsBudgetExhaustedError(
        `The service has sent all the codes it may send today. Try again in ${describeWait(seconds)}.`,
        { retryAfter: seconds },
      );
    },
    release,
  };
}
