import type { Settings } from "../../kernel/config/settings";
import { describeWait } from "../../kernel/describe-wait";
import { RateLimitedError, type ServiceError, SmsBudgetExhaustedError } from "../../kernel/errors/service-error";
import { DAY_MS, HOUR_MS } from "../../kernel/time";
import {
  type BudgetShard,
  type BudgetShardRpc,
  budgetShardFor,
  type ShardRefusal,
} from "../../platform/limiter/budget-shard";
import {
  type QuotaCounter,
  type QuotaResult,
  type QuotaTake,
  quotaCounterFor,
} from "../../platform/limiter/quota-counter";
import { clientKey, clientPrefixes } from "./client-address";

type Counters = DurableObjectNamespace<QuotaCounter>;
type Shards = DurableObjectNamespace<BudgetShard>;

/**
 * One counter a send takes a hit from. `take` resolves to the refusal to
 * answer with, or undefined when the hit was taken; `release` gives the hit
 * back and does nothing when there is none, so it is safe to call whatever
 * `take` did (refused, failed, or answered too late). `late` (the default)
 * when the take passed its deadline and may still arrive: only then does
 * the counter remember the ticket, so a refused request leaves nothing.
 */
export interface QuotaHold {
  take(): Promise<ServiceError | undefined>;
  release(late?: boolean): Promise<void>;
  /**
   * A counter shared by many clients (a network's, the day's budget): taken
   * only after the client's own holds let the request through, so requests
   * refused by their own limits never hold a unit of it, even for a moment.
   */
  shared?: true;
}

/**
 * The one refusal of every per-client limit of /send-otp (the address's
 * sends and requests, the network's sends): one text for all of them, so a
 * refusal does not say which limit a client met.
 */
function clientRefusal(seconds: number): ServiceError {
  return new RateLimitedError(
    `Too many codes were requested from your network. Try again in ${describeWait(seconds)}.`,
    { retryAfter: seconds },
  );
}

/**
 * The hourly counts of one send that live in one client key's counter (its
 * sends and its requests), taken in one call (QuotaCounter.takeAll, all or
 * nothing) when the first of them is taken; each is given back on its own.
 */
export class JointTakes {
  private readonly byKey = new Map<string, { takes: QuotaTake[]; call?: Promise<QuotaResult[]> }>();

  hold(ns: Counters, key: string, counter: string, limit: number): QuotaHold {
    const stub = quotaCounterFor(ns, key);
    const entry = this.byKey.get(key) ?? { takes: [] };
    this.byKey.set(key, entry);
    const take: QuotaTake = { ticket: crypto.randomUUID(), limit, windowMs: HOUR_MS, counter };
    const index = entry.takes.push(take) - 1;
    return {
      async take() {
        entry.call ??= stub.takeAll(entry.takes);
        const result = (await entry.call)[index]!;
        return result.outcome === "taken" ? undefined : clientRefusal(result.retryAfterMs / 1000);
      },
      release: (late = true) => stub.release(take.ticket, late),
    };
  }
}

/** `limit` sends per rolling hour per client key (see client-address.ts), counted exactly. */
export function clientQuota(ns: Counters, client: string, limit: number, joint = new JointTakes()): QuotaHold {
  return joint.hold(ns, `ip:${client}`, "", limit);
}

/**
 * The client's hourly requests (the counter "requests" of `ip:<client key>`,
 * taken with its sends in one call through `joint`): every /send-otp that
 * reaches the number's object costs one, whatever its outcome (refused by
 * the number, by the budget, failed at the gateway, sent), so no client
 * gets unlimited free work from the number's and the budget's objects. The
 * caller gives it back only when the service itself failed (503). Counted
 * under every key the client's sends are (the IPv4 address; an IPv6 /64,
 * /56 and /48), each with requestsPerIp scaled by that key's send limit
 * over perIp (a carrier-NAT IPv4 address by perCarrierIp / perIp), so
 * rotating the /64s of one /48 buys no more than the /48's share.
 */
export function clientRequests(
  ns: Counters,
  client: { address: string | undefined; asn: number | undefined },
  limits: ClientLimits,
  joint = new JointTakes(),
): QuotaHold[] {
  const scaled = (sends: number) => Math.ceil((limits.requestsPerIp * sends) / limits.perIp);
  return clientPrefixes(client.address).map(({ key, prefix }) =>
    joint.hold(ns, `ip:${key}`, "requests", scaled(sendLimitFor(prefix, isCarrierNat(client, limits), limits))),
  );
}

/** Whether the client is an IPv4 address of a carrier in CARRIER_ASNS (behind its NAT). */
function isCarrierNat(client: { address: string | undefined; asn: number | undefined }, limits: ClientLimits): boolean {
  return (
    client.asn !== undefined && limits.carrierAsns.includes(client.asn) && !clientKey(client.address).includes(":")
  );
}

/** The hourly send limit of one of a client's keys. */
function sendLimitFor(prefix: 32 | 64 | 56 | 48, carrierNat: boolean, limits: ClientLimits): number {
  if (prefix === 56) return limits.per56;
  if (prefix === 48) return limits.per48;
  return prefix === 32 && carrierNat ? limits.perCarrierIp : limits.perIp;
}

/** The per-client limits of one send (settings: OTP_MAX_SENDS_PER_IP_PER_HOUR, OTP_MAX_SEND_REQUESTS_PER_IP_PER_HOUR and the `clients` group). */
export interface ClientLimits {
  /** Requests per client key per rolling hour, whatever their outcome (clientRequests). */
  requestsPerIp: number;
  perIp: number;
  per56: number;
  per48: number;
  perCarrierIp: number;
  carrierAsns: readonly number[];
  perAsn: number;
}

/** The ClientLimits of the settings. */
export function clientLimitsFrom({ otp, clients }: Pick<Settings, "otp" | "clients">): ClientLimits {
  return {
    requestsPerIp: otp.maxSendRequestsPerIpPerHour,
    perIp: otp.maxSendsPerIpPerHour,
    per56: clients.maxSendsPer56PerHour,
    per48: clients.maxSendsPer48PerHour,
    perCarrierIp: clients.maxSendsPerCarrierIpPerHour,
    carrierAsns: clients.carrierAsns,
    perAsn: clients.maxSendsPerAsnPerHour,
  };
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
  joint = new JointTakes(),
): QuotaHold[] {
  const carrier = client.asn !== undefined && limits.carrierAsns.includes(client.asn);
  const carrierNat = isCarrierNat(client, limits);
  const holds = clientPrefixes(client.address).map(({ key, prefix }) =>
    clientQuota(counters, key, sendLimitFor(prefix, carrierNat, limits), joint),
  );
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
        refusal: clientRefusal,
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

/** The BudgetPlan of the settings: the `budget` group and SMS_DAILY_BUDGET. */
export function budgetPlanFrom({ budget, smsDailyBudget }: Pick<Settings, "budget" | "smsDailyBudget">): BudgetPlan {
  return { ...budget, daily: smsDailyBudget };
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
 * A shard spent by committed units (see budget-shard.ts) is remembered in
 * this isolate until its next release, so refused requests stop reaching
 * storage; one full only with units other requests hold for the moment is
 * not, so a hold that is given back never makes the budget look spent.
 */
export function smsBudget(ns: Shards, plan: BudgetPlan, now = Date.now(), units = 1): QuotaHold {
  const pool = budgetPool(plan, now);
  const holds = Array.from({ length: units }, () => pooledHold(ns, pool));
  const release = async (late = true) => {
    await Promise.all(holds.map((h) => h.release(late)));
  };
  return {
    shared: true,
    async take() {
      const refusals = await Promise.all(holds.map((h) => h.take()));
      const refusal = refusals.find((r) => r !== undefined);
      if (refusal === undefined) return undefined;
      await release(false);
      return refusal;
    },
    release,
  };
}

/**
 * Whether the day's budget could give `units` now, checked without taking
 * anything: for sends that never spend it (TEST_PHONE_NUMBERS), so that
 * while the budget refuses they are refused the same way as every other
 * number (same 503, same Retry-After), and a scan cannot pick them out.
 * Its release does nothing: a probe holds nothing.
 */
export function smsBudgetProbe(ns: Shards, plan: BudgetPlan, now = Date.now(), units = 1): QuotaHold {
  const pool = budgetPool(plan, now);
  return {
    shared: true,
    take() {
      let free = 0;
      return visitShards(ns, pool, async (shard, cap) => {
        const result = await shard.probe(1, cap);
        if (result.outcome === "refused") return result;
        free += result.free;
        return free >= units ? "taken" : "next";
      });
    },
    release: async () => {},
  };
}

/** One unit of the day's budget, over its shards: the shares, paced hourly (see smsBudget). */
function budgetPool(plan: BudgetPlan, now: number): Pool {
  const dayStart = now - (now % DAY_MS);
  const names = budgetShardNames(plan, new Date(dayStart).toISOString().slice(0, 10));
  const shares = split(plan.daily, names.length);
  const hour = Math.floor((now - dayStart) / HOUR_MS);
  return {
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
 * Per isolate: each shard whose committed units alone refused, under which
 * cap and for how many units, and until when that stands (its next release
 * or the end of its period). A unit given back to a shard from this isolate
 * forgets it.
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
  const release = async (late = true) => {
    released = true;
    for (const i of reached) spent.delete(pool.names[i]!);
    await Promise.all(
      [...reached].map((i) => budgetShardFor(ns, pool.names[i]!, pool.locationHint).release(ticket, late)),
    );
  };
  return {
    shared: true,
    take: () =>
      visitShards(ns, pool, async (shard, cap, i) => {
        if (released) return "stop";
        reached.add(i);
        const result = await shard.take(ticket, pool.units, cap, pool.expiresAt);
        if (result.outcome === "taken") return "taken";
        reached.delete(i);
        return result;
      }),
    release,
  };
}

/**
 * What one shard said: it took (or had room), `next` (ask another),
 * `stop` (ask no more), or its refusal.
 */
type Visit = "taken" | "next" | "stop" | ShardRefusal;

/**
 * Asks the shards not known to be spent, in a random order, until one
 * answers `taken`; resolves to undefined then, else to the pool's refusal,
 * whose Retry-After is the soonest release of the shards plus a random
 * spread. A refusal is remembered only when the shard's committed units
 * fill it (not units other requests hold for a moment, which may be given
 * back), and for a short while, so a unit given back elsewhere is found
 * again soon.
 */
async function visitShards(
  ns: Shards,
  pool: Pool,
  visit: (shard: BudgetShardRpc, cap: number, i: number) => Promise<Visit>,
): Promise<ServiceError | undefined> {
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
    const result = await visit(budgetShardFor(ns, name, pool.locationHint), cap, i);
    if (result === "taken") return undefined;
    if (result === "stop") break;
    if (result !== "next" && result.used - result.held + pool.units > cap) {
      rememberSpent(name, cap, pool.units, until, now);
    }
    soonest = Math.min(soonest, until);
  }
  const spread = Math.floor(Math.random() * (pool.retrySpreadSeconds + 1));
  const seconds = Math.max(1, Math.ceil((soonest - now) / 1000)) + spread;
  return pool.refusal(seconds);
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
