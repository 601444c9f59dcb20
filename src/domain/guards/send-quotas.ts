import { describeWait } from "../../kernel/describe-wait";
import { RateLimitedError, type ServiceError, SmsBudgetExhaustedError } from "../../kernel/errors/service-error";
import { DAY_MS, HOUR_MS } from "../../kernel/time";
import { type BudgetShard, budgetShardFor } from "../../platform/limiter/budget-shard";
import { type QuotaCounter, quotaCounterFor } from "../../platform/limiter/quota-counter";
import { clientPrefixes } from "./client-address";

type Counters = DurableObjectNamespace<QuotaCounter>;
type Shards = DurableObjectNamespace<BudgetShard>;

/**
 * One counter a send takes a hit from. `take` resolves to the refusal to
 * answer with, or undefined when the hit was taken; `release` gives the hit
 * back and does nothing when there is none, so it is safe to call whatever
 * `take` did (refused, failed, or answered too late).
 */
export interface QuotaHold {
  take(): Promise<ServiceError | undefined>;
  release(): Promise<void>;
  /**
   * A counter shared by many clients (a network's, the day's budget): taken
   * only after the client's own holds let the request through, so requests
   * refused by their own limits never hold a unit of it, even for a moment.
   */
  shared?: true;
}

/** `limit` sends per rolling hour per client key (see client-address.ts), counted exactly. */
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

/** The per-client limits of one send (settings: OTP_MAX_SENDS_PER_IP_PER_HOUR and the `clients` group). */
export interface ClientLimits {
  perIp: number;
  per56: number;
  per48: number;
  perCarrierIp: number;
  carrierAsns: readonly number[];
  perAsn: number;
}

/**
 * Every per-client hold of one send, taken together: the address (an IPv4
 * address of a carrier in CARRIER_ASNS, shared by many users behind its
 * NAT, gets perCarrierIp instead of perIp); an IPv6 client also at /56 and
 * /48; and, for a network not in CARRIER_ASNS, its hourly sends (perAsn, 0:
 * none) on sharded counters, since one network may send a lot.
 */
export function clientQuotas(
  counters: Counters,
  shards: Shards,
  client: { address: string | undefined; asn: number | undefined },
  limits: ClientLimits,
  plan: { shards: number; locationHint?: DurableObjectLocationHint | undefined },
  now = Date.now(),
): QuotaHold[] {
  const carrier = client.asn !== undefined && limits.carrierAsns.includes(client.asn);
  const holds = clientPrefixes(client.address).map(({ key, prefix }) => {
    const limit =
      prefix === 56
        ? limits.per56
        : prefix === 48
          ? limits.per48
          : prefix === 32 && carrier
            ? limits.perCarrierIp
            : limits.perIp;
    return clientQuota(counters, key, limit);
  });
  if (client.asn !== undefined && !carrier && limits.perAsn > 0) {
    const hourStart = now - (now % HOUR_MS);
    const hour = new Date(hourStart).toISOString().slice(0, 13);
    const names = shardNames(`asn:${client.asn}:${hour}`, Math.min(plan.shards, limits.perAsn));
    const caps = split(limits.perAsn, names.length);
    holds.push(
      pooledHold(shards, {
        names,
        capOf: (i) => ({ cap: caps[i]!, until: hourStart + HOUR_MS }),
        units: 1,
        expiresAt: hourStart + 2 * HOUR_MS,
        locationHint: plan.locationHint,
        retrySpreadSeconds: 0,
        refusal: (seconds) =>
          new RateLimitedError(
            `Too many codes were requested from your network. Try again in ${describeWait(seconds)}.`,
            { retryAfter: seconds },
          ),
      }),
    );
  }
  return holds;
}

/** What a voice call takes from SMS_DAILY_BUDGET: it costs the operator about twice an SMS (README, "Gateways"). */
export const VOICE_BUDGET_UNITS = 2;

/** How SMS_DAILY_BUDGET is spent: the `budget` settings group plus the daily figure. */
export interface BudgetPlan {
  daily: number;
  shards: number;
  hourlyPercent: number;
  retrySpreadSeconds: number;
  locationHint?: DurableObjectLocationHint | undefined;
}

/**
 * The global SMS_DAILY_BUDGET for the current UTC day: a circuit breaker
 * against SMS pumping and runaway cost. A send takes `units` of it (a voice
 * call VOICE_BUDGET_UNITS), all or none: each unit is a ticket of its own,
 * taken concurrently (from whichever shards have room), and all are given
 * back when any is refused.
 *
 * No hot spot: the budget is split over `shards` Durable Objects
 * (`sms-budget:<day>:<i>`, each owning its share, the remainder to the first
 * shards), so no object sees more than its share of the sends. A send tries
 * the shards in a random order (borrowing from another when one is spent)
 * until one takes it; each shard decides atomically against its own share,
 * so the shards together never hand out more than the budget.
 *
 * No midnight stampede: a shard's share is released through the day,
 * `hourlyPercent` of it each UTC hour, cumulatively; a refusal's Retry-After
 * is the next release plus a random spread.
 *
 * A shard that refused is remembered in this isolate until its next release,
 * so refused requests stop reaching storage.
 */
export function smsBudget(ns: Shards, plan: BudgetPlan, now = Date.now(), units = 1): QuotaHold {
  const dayStart = now - (now % DAY_MS);
  const names = budgetShardNames(plan, new Date(dayStart).toISOString().slice(0, 10));
  const shares = split(plan.daily, names.length);
  const hour = Math.floor((now - dayStart) / HOUR_MS);
  const unit = () =>
    pooledHold(ns, {
      names,
      capOf: (i) => {
        const share = shares[i]!;
        const cap = Math.min(share, Math.ceil((share * plan.hourlyPercent * (hour + 1)) / 100));
        return { cap, until: cap < share ? dayStart + (hour + 1) * HOUR_MS : dayStart + DAY_MS };
      },
      units: 1,
      expiresAt: dayStart + 2 * DAY_MS,
      locationHint: plan.locationHint,
      retrySpreadSeconds: plan.retrySpreadSeconds,
      refusal: (seconds) =>
        new SmsBudgetExhaustedError(
          `The service has sent all the codes it may send for now. Try again in ${describeWait(seconds)}.`,
          { retryAfter: seconds },
        ),
    });
  const holds = Array.from({ length: units }, unit);
  const release = async () => {
    await Promise.all(holds.map((h) => h.release()));
  };
  return {
    shared: true,
    async take() {
      const refusals = await Promise.all(holds.map((h) => h.take()));
      const refusal = refusals.find((r) => r !== undefined);
      if (refusal === undefined) return undefined;
      await release();
      return refusal;
    },
    release,
  };
}

/** The day's budget used so far (`day`: YYYY-MM-DD, UTC): the shards' counts, summed. */
export async function budgetUsed(ns: Shards, plan: BudgetPlan, day: string): Promise<number> {
  const counts = await Promise.all(
    budgetShardNames(plan, day).map((name) => budgetShardFor(ns, name, plan.locationHint).used()),
  );
  return counts.reduce((a, b) => a + b, 0);
}

function budgetShardNames(plan: BudgetPlan, day: string): string[] {
  return shardNames(`sms-budget:${day}`, Math.min(plan.shards, plan.daily));
}

function shardNames(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}:${i}`);
}

/** `total` split into `n` shares that differ by at most one, the larger first. */
function split(total: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}

/**
 * Per isolate: each shard that refused, under which cap and for how many
 * units, and until when that stands (its next release or the end of its
 * period). A unit given back to a shard from this isolate forgets it.
 */
const spent = new Map<string, { cap: number; units: number; until: number; trustUntil: number }>();
const MEMO_MAX_ENTRIES = 10_000;
/** How long an isolate trusts a refusal it remembers before it asks the shard again. */
const MEMO_MAX_MS = 30_000;

function knownSpent(name: string, cap: number, units: number, now: number): number | undefined {
  const memo = spent.get(name);
  const holds =
    memo !== undefined && memo.cap === cap && memo.units <= units && memo.until > now && memo.trustUntil > now;
  return holds ? memo.until : undefined;
}

function rememberSpent(name: string, cap: number, units: number, until: number, now: number): void {
  if (spent.size >= MEMO_MAX_ENTRIES) {
    for (const [k, m] of spent) if (m.until <= now) spent.delete(k);
    if (spent.size >= MEMO_MAX_ENTRIES) spent.clear();
  }
  spent.set(name, { cap, units, until, trustUntil: Math.min(until, now + MEMO_MAX_MS) });
}

interface Pool {
  names: readonly string[];
  /** Shard i's cap now, and until when a refusal by it stands. */
  capOf: (i: number) => { cap: number; until: number };
  units: number;
  expiresAt: number;
  locationHint: DurableObjectLocationHint | undefined;
  retrySpreadSeconds: number;
  refusal: (retryAfterSeconds: number) => ServiceError;
}

/**
 * A hold on a sharded counter: tries the shards not known to be spent, one
 * after another in a random order, until one takes the ticket. Release goes
 * to every shard the ticket may have reached (a refused shard took nothing).
 */
function pooledHold(ns: Shards, pool: Pool): QuotaHold {
  const ticket = crypto.randomUUID();
  const reached = new Set<number>();
  let released = false;
  const release = async () => {
    released = true;
    for (const i of reached) spent.delete(pool.names[i]!);
    await Promise.all([...reached].map((i) => budgetShardFor(ns, pool.names[i]!, pool.locationHint).release(ticket)));
  };
  return {
    shared: true,
    async take() {
      const now = Date.now();
      const order = shuffle(pool.names.map((_, i) => i));
      let soonest = Number.POSITIVE_INFINITY;
      for (const i of order) {
        const { cap, until } = pool.capOf(i);
        const name = pool.names[i]!;
        const memo = knownSpent(name, cap, pool.units, now);
        if (cap < pool.units || memo !== undefined) {
          soonest = Math.min(soonest, memo ?? until);
          continue;
        }
        if (released) break;
        reached.add(i);
        const result = await budgetShardFor(ns, name, pool.locationHint).take(ticket, pool.units, cap, pool.expiresAt);
        if (result.outcome === "taken") return undefined;
        reached.delete(i);
        // Remembered only when the shard's committed units fill it (not units other requests hold for a
        // moment), and for a short while, so a unit given back elsewhere is found again soon.
        if (result.used + pool.units > cap) rememberSpent(name, cap, pool.units, until, now);
        soonest = Math.min(soonest, until);
      }
      const spread = Math.floor(Math.random() * (pool.retrySpreadSeconds + 1));
      const seconds = Math.max(1, Math.ceil((soonest - now) / 1000)) + spread;
      return pool.refusal(seconds);
    },
    release,
  };
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
