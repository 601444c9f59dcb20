import { RateLimitedError, SmsBudgetExhaustedError } from "../errors/service-error";
import type { QuotaCounter, QuotaResult } from "../limiter/quota-counter";
import { describeWait } from "../otp/describe-wait";

const HOUR_MS = 3_600_000;
/** Longer than a day, so no hit ages out of a day's budget before the day is over. */
const BUDGET_WINDOW_MS = 26 * HOUR_MS;

type Counters = DurableObjectNamespace<QuotaCounter>;
type Take = (limit: number, windowMs: number) => Promise<QuotaResult>;

/** A quota hit that can be given back when a later check refuses the request. */
export type Release = () => Promise<void>;

function counter(ns: Counters, key: string): { take: Take; release: (ticket: string) => Promise<void> } {
  // Plain data crosses the RPC boundary; see limiter-for.ts for why the cast.
  return ns.getByName(key) as unknown as { take: Take; release: (ticket: string) => Promise<void> };
}

/** OTP_MAX_SENDS_PER_IP_PER_HOUR sends per client address (see client-address.ts), counted exactly. */
export async function takeClientQuota(ns: Counters, client: string, limit: number): Promise<Release> {
  const c = counter(ns, `ip:${client}`);
  const result = await c.take(limit, HOUR_MS);
  if (!result.ok) {
    const seconds = result.retryAfterMs / 1000;
    throw new RateLimitedError(
      `Too many codes were requested from your network. Try again in ${describeWait(seconds)}.`,
      { retryAfter: seconds },
    );
  }
  return () => c.release(result.ticket);
}

/** The global SMS_DAILY_BUDGET for the current UTC day: a circuit breaker against SMS pumping and runaway cost. */
export async function takeSmsBudget(ns: Counters, budget: number, now = Date.now()): Promise<Release> {
  const day = new Date(now).toISOString().slice(0, 10);
  const c = counter(ns, `sms-budget:${day}`);
  const result = await c.take(budget, BUDGET_WINDOW_MS);
  if (!result.ok) {
    const nextDay = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), new Date(now).getUTCDate() + 1);
    const seconds = (nextDay - now) / 1000;
    throw new SmsBudgetExhaustedError(
      `The service has sent all the codes it may send today. Try again in ${describeWait(seconds)}.`,
      { retryAfter: seconds },
    );
  }
  return () => c.release(result.ticket);
}
