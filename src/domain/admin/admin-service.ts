/**
 * Domain layer: what the operator may see and do (src/domain/admin/), behind
 * ADMIN_TOKEN (src/http/middleware/admin-auth.ts). A number's state comes
 * from its PhoneLimiter (its sessions too) and SessionStore (older sessions), read-only; the day's figures from
 * the StatsCounter shards (src/domain/stats/). Nothing here returns a code,
 * a hash, an id or a token.
 */
import type { Settings } from "../../kernel/config/settings";
import type { NormalizedPhone } from "../../kernel/phone/normalize-phone";
import { dltProblem } from "../../platform/delivery/dlt-reasons";
import { type CodeMessage, inspectLimitsFrom, type LastSms } from "../../platform/limiter/limiter-types";
import { limiterFor, type PhoneLimiter } from "../../platform/limiter/phone-limiter";
import type { RangeGuard } from "../../platform/limiter/range-guard";
import type { SessionStore } from "../../platform/sessions/session-store";
import type { StatsCounter } from "../../platform/stats/stats-counter";
import { type StorageCallOptions, storageCall } from "../../platform/storage-call";
import { type EventDeps, emitEvent, emitEvents, sessionsEnded } from "../events/app-events";
import { activeBlocks, liftBlock } from "../guards/range-guard";
import { sessionHostsOf } from "../sessions/session-hosts";
import { type DeliveryFigures, deliveryFigures } from "../stats/delivery-stats";
import { type DayCounts, REFUSAL_REASONS, readDay, type StatsDeps } from "../stats/otp-events";
import { RANGE_METRICS, recordRangeEvent } from "../stats/range-events";

export interface AdminDeps {
  settings: Settings;
  limiters: DurableObjectNamespace<PhoneLimiter>;
  stores: DurableObjectNamespace<SessionStore>;
  stats: DurableObjectNamespace<StatsCounter>;
  /** The fraud guard's objects (range-guard.ts): the ranges and the list of their blocks. */
  ranges: DurableObjectNamespace<RangeGuard>;
  analytics?: StatsDeps["analytics"];
  background: (work: Promise<unknown>) => void;
  /** Where the app's events go (EVENTS_QUEUE), when it has any (domain/events). */
  events?: EventDeps["events"];
}

const options = (deps: AdminDeps): StorageCallOptions => ({
  timeoutMs: deps.settings.storageTimeoutMs,
  background: deps.background,
});

const iso = (ms: number) => new Date(ms).toISOString();

export interface NumberView {
  phone: string;
  sends_last_hour: number;
  failures_last_day: number;
  locked_until: string | null;
  number_locked: boolean;
  clients_locked: number;
  live_code: { expires_at: string; attempts_left: number } | null;
  sessions: number;
  last_sms: { gateway: string; channel: LastSms["channel"]; at: string; outcome: LastSms["outcome"] } | null;
  deliveries: DeliveryView[];
}

/** One message of a recent code, as the operator sees it: its gateway's reports, the DLT problem named. */
export interface DeliveryView {
  channel: CodeMessage["channel"];
  gateway: string;
  status: CodeMessage["status"];
  sent_at: string;
  delivered_at: string | null;
  failed_at: string | null;
  /** The gateway's failure reason as reported (cleaned of control characters, at most 200 characters). */
  reason: string | null;
  /** The DLT (TRAI) problem that reason names, in the service's words (dlt-reasons.ts), or null. */
  dlt: string | null;
}

function deliveryView(m: CodeMessage): DeliveryView {
  return {
    channel: m.channel,
    gateway: m.gateway,
    status: m.status,
    sent_at: iso(m.sentAt),
    delivered_at: m.deliveredAt === undefined ? null : iso(m.deliveredAt),
    failed_at: m.failedAt === undefined ? null : iso(m.failedAt),
    reason: m.failureReason ?? null,
    dlt: dltProblem(m.failureReason),
  };
}

/** "Why can't this number sign in?": its counts, lock, live code, sessions, last SMS and deliveries, read concurrently. */
export async function inspectNumber(deps: AdminDeps, phone: NormalizedPhone): Promise<NumberView> {
  const limiter = limiterFor(deps.limiters, phone.e164);
  // The number's sessions live in its PhoneLimiter, and those made before they moved there in its SessionStore.
  const { legacy } = sessionHostsOf(deps, phone.e164);
  const [state, current, older] = await Promise.all([
    storageCall(options(deps), () => limiter.inspect(inspectLimitsFrom(deps.settings))),
    storageCall(options(deps), () => limiter.count()),
    storageCall(options(deps), () => legacy.count()),
  ]);
  const sessions = current + older;
  return {
    phone: phone.e164,
    sends_last_hour: state.sendsLastHour,
    failures_last_day: state.failuresLastDay,
    locked_until: state.lockedUntil === null ? null : iso(state.lockedUntil),
    number_locked: state.numberLocked,
    clients_locked: state.clientsLocked,
    live_code: state.liveCode && {
      expires_at: iso(state.liveCode.expiresAt),
      attempts_left: state.liveCode.attemptsLeft,
    },
    sessions,
    last_sms: state.lastSms && {
      gateway: state.lastSms.gateway,
      channel: state.lastSms.channel,
      at: iso(state.lastSms.at),
      outcome: state.lastSms.outcome,
    },
    deliveries: state.deliveries.map(deliveryView),
  };
}

/** Clears the number's wrong guesses (and so every lock) and its sends (cooldown, hourly limits). */
export async function unlockNumber(deps: AdminDeps, phone: NormalizedPhone): Promise<void> {
  const limiter = limiterFor(deps.limiters, phone.e164);
  await storageCall(options(deps), () => limiter.unlock());
}

/** Ends every session of the number; how many there were. */
export async function endNumberSessions(deps: AdminDeps, phone: NormalizedPhone): Promise<number> {
  const { current, legacy } = sessionHostsOf(deps, phone.e164);
  const ended = (
    await storageCall(options(deps), () => Promise.all([current.adminEndAll(), legacy.adminEndAll()]))
  ).flat();
  emitEvents(deps, sessionsEnded(phone.e164, ended, "admin"));
  return ended.length;
}

export interface DayStats {
  day: string;
  sends: number;
  sms_sent: number;
  sms_failed: number;
  voice_calls: number;
  verifications_succeeded: number;
  verifications_failed: number;
  numbers_sent: number;
  numbers_verified: number;
  conversion_rate: number;
  budget: { limit: number; used: number };
  by_gateway: Record<string, { sent: number; failed: number }>;
  by_country: Record<string, number>;
  failures: Record<string, number>;
  /** Sends refused by a limit before anything was sent: neither sends nor failures. */
  refused: { total: number; by_reason: Record<string, number> };
  /** The day's messages by gateway and channel, from the sends and their delivery reports (delivery-stats.ts). */
  delivery: DeliveryFigures;
  /** The fraud guard's day: number ranges blocked, and blocks an operator lifted. */
  fraud: { ranges_blocked: number; blocks_lifted: number };
}

/** Decimals the API gives conversion_rate to (a rate of distinct numbers; more digits only add noise). */
const RATE_DECIMALS = 4;
const roundRate = (x: number) => Math.round(x * 10 ** RATE_DECIMALS) / 10 ** RATE_DECIMALS;

/**
 * The day's failures and refusals by reason. Days counted before refusals had
 * their own metric kept them among the failures: those are moved over too.
 */
function failuresAndRefusals(counts: DayCounts): Pick<DayStats, "failures" | "refused"> {
  const failures: Record<string, number> = {};
  const byReason: Record<string, number> = Object.fromEntries(counts.counters.get("refused") ?? []);
  const refusal = new Set<string>(REFUSAL_REASONS);
  for (const [reason, n] of counts.counters.get("failures") ?? []) {
    if (refusal.has(reason)) byReason[reason] = (byReason[reason] ?? 0) + n;
    else failures[reason] = n;
  }
  const total = Object.values(byReason).reduce((a, b) => a + b, 0);
  return { failures, refused: { total, by_reason: byReason } };
}

/**
 * The budget units the day spent, as counted by the stats (an SMS 1, a call 2,
 * kept for sends whose outcome was unknown). The one place that says where
 * "used" comes from, so a change to how the budget is kept changes only this.
 */
export function budgetUsed(counts: DayCounts): number {
  return counts.counters.get("budget_units")?.get("") ?? 0;
}

/** The day's exact figures, summed over its shards. */
export async function dayStats(deps: AdminDeps, day: string): Promise<DayStats> {
  const counts = await storageCall(options(deps), () => readDay(deps.stats, day));
  const total = (metric: string) => [...(counts.counters.get(metric)?.values() ?? [])].reduce((a, b) => a + b, 0);
  const byKey = (metric: string) => Object.fromEntries(counts.counters.get(metric) ?? []);
  const byGateway: Record<string, { sent: number; failed: number }> = {};
  for (const [metric, field] of [
    ["gateway_sent", "sent"],
    ["gateway_failed", "failed"],
  ] as const) {
    for (const [gateway, n] of counts.counters.get(metric) ?? []) {
      byGateway[gateway] ??= { sent: 0, failed: 0 };
      byGateway[gateway][field] += n;
    }
  }
  return {
    day,
    sends: total("sends"),
    sms_sent: total("sms_sent"),
    sms_failed: total("sms_failed"),
    voice_calls: total("voice_calls"),
    verifications_succeeded: total("verifications_succeeded"),
    verifications_failed: total("verifications_failed"),
    numbers_sent: counts.numbersSent,
    numbers_verified: counts.numbersVerified,
    // Over numbers a code really went to: refused requests never join that set.
    conversion_rate: counts.numbersSent === 0 ? 0 : roundRate(counts.numbersVerified / counts.numbersSent),
    budget: { limit: deps.settings.smsDailyBudget, used: budgetUsed(counts) },
    by_gateway: byGateway,
    by_country: byKey("by_country"),
    ...failuresAndRefusals(counts),
    delivery: deliveryFigures(counts),
    fraud: { ranges_blocked: total(RANGE_METRICS.range_blocked), blocks_lifted: total(RANGE_METRICS.range_lifted) },
  };
}

/** A blocked number range as the operator sees it (GET /admin/blocks). */
export interface BlockView {
  range: string;
  since: string;
  until: string;
  unverified: number;
  times_today: number;
}

/** The number ranges the fraud guard blocks now, the longest-running first. */
export async function listBlocks(deps: AdminDeps): Promise<BlockView[]> {
  const blocks = await storageCall(options(deps), () => activeBlocks(deps.ranges));
  return blocks.map((b) => ({
    range: b.range,
    since: iso(b.since),
    until: iso(b.until),
    unverified: b.unverified,
    times_today: b.timesToday,
  }));
}

/** Lifts a range's block: its sends go out again and it counts afresh (earlier blocks forgotten); whether one was active. */
export async function liftRangeBlock(deps: AdminDeps, range: string): Promise<boolean> {
  const lifted = await storageCall(options(deps), () => liftBlock(deps.ranges, range));
  if (lifted) {
    recordRangeEvent(deps, "range_lifted", range);
    emitEvent(deps, "fraud.range_lifted", { range });
  }
  return lifted;
}
