/**
 * Domain layer: the operator's figures (src/domain/stats/). Each OTP event is
 * counted after the response, in the day's StatsCounter shard of its number
 * (src/platform/stats/), and written as one data point to Workers Analytics
 * Engine (OTP_EVENTS) for long-range queries. Neither ever holds the number:
 * the shard and the distinct-number sets use a keyed hash of it.
 */
import type { Settings } from "../../kernel/config/settings";
import { derivedHmacKey } from "../../kernel/crypto/hmac-key";
import { log } from "../../kernel/log/log";
import type { NormalizedPhone } from "../../kernel/phone/normalize-phone";
import type { Channel } from "../../platform/sms/sms-gateway";
import {
  type NumberMark,
  STATS_SHARDS,
  type StatsCounter,
  type StatsIncrement,
  type StatsShardSnapshot,
  statsCounterFor,
} from "../../platform/stats/stats-counter";
import { countInBatch, flushStats } from "./stats-batch";

export interface StatsDeps {
  settings: Settings;
  stats: DurableObjectNamespace<StatsCounter>;
  /** Absent where the runtime has no Analytics Engine binding: then only the exact counts are written. */
  analytics?: AnalyticsEngineDataset | undefined;
  /** Runs work after the response (ExecutionContext.waitUntil). */
  background: (work: Promise<unknown>) => void;
}

/**
 * Why a send was refused by a limit before anything was sent (the error's
 * code). Refusals are counted apart (`refused`, by reason), never as sends or
 * failures, so a flood of refused requests changes neither the day's sends
 * nor its conversion.
 */
export const REFUSAL_REASONS = [
  "rate_limited",
  "too_many_attempts",
  "sms_budget_exhausted",
  "fraud_suspected",
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Why a send or a guess did not succeed, as the dashboard's "failures by reason" names it (or a refusal's reason). */
export type FailureReason =
  /** Every gateway refused the message cleanly (nothing went out). */
  | "sms_refused"
  /** A gateway timed out or answered unreadably: the message may have gone out. */
  | "sms_no_answer"
  /** The gateway refused the number itself. */
  | "number_refused"
  /** A wrong code for a live verification_id. */
  | "wrong_code"
  | RefusalReason;

export type OtpEvent =
  /** A code went out (SMS or call accepted), or a test number got its fixed code. */
  | {
      kind: "sent";
      channel: Channel;
      gateway: string;
      test: boolean;
      budgetUnits: number;
      failedOver: string[];
      /** A later message of a code already sent (its fallback, fallback.ts): counted by gateway, not as a send. */
      fallback?: true;
    }
  /** No gateway accepted; `budgetUnits` stay spent when the outcome is unknown. */
  | {
      kind: "send_failed";
      channel: Channel;
      reason: FailureReason;
      gateways: string[];
      budgetUnits: number;
    }
  | { kind: "send_refused"; reason: FailureReason }
  | { kind: "verified" }
  | { kind: "wrong_code" };

/** The UTC day of `at`, YYYY-MM-DD. */
export const utcDay = (at: number): string => new Date(at).toISOString().slice(0, 10);

/** HMAC key for number hashes, derived from OTP_HASH_SECRET, so the stats never need a secret of their own. */
const statsKey = (secret: string) => derivedHmacKey(secret, "phone-otp stats number hash v1");

/** A keyed hash of the number (hex, 128 bits) and its shard: the same for one number every time. */
export async function numberHash(secret: string, e164: string): Promise<{ hash: string; shard: number }> {
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", await statsKey(secret), new TextEncoder().encode(e164)),
  ).slice(0, 16);
  return {
    hash: Array.from(mac, (b) => b.toString(16).padStart(2, "0")).join(""),
    shard: mac[0]! % STATS_SHARDS,
  };
}

/**
 * The delivery figures' metrics (delivery-stats.ts), keyed by `gateway/channel`
 * (routeKey); the histogram's by `gateway/channel/bucket`, the failures' by reason.
 */
export const DELIVERY_METRICS = {
  sent: "delivery_sent",
  fallbacks: "delivery_fallbacks",
  delivered: "delivery_delivered",
  failed: "delivery_failed",
  latency: "delivery_latency",
  failureReason: "delivery_failure_reason",
} as const;

/** A gateway and channel as one counter key. */
export const routeKey = (gateway: string, channel: Channel): string => `${gateway}/${channel}`;

function increments(event: OtpEvent, country: string): StatsIncrement[] {
  const one = (metric: string, key = "") => ({ metric, key, n: 1 });
  switch (event.kind) {
    case "sent":
      return [
        ...(event.fallback ? [] : [one("sends"), one("by_country", country)]),
        ...(event.test
          ? []
          : [
              one(event.channel === "voice" ? "voice_calls" : "sms_sent"),
              one("gateway_sent", event.gateway),
              one(DELIVERY_METRICS.sent, routeKey(event.gateway, event.channel)),
              // Another gateway or channel than the first one tried (whatsapp → sms too).
              ...(event.failedOver.length > 0 || event.fallback
                ? [one(DELIVERY_METRICS.fallbacks, routeKey(event.gateway, event.channel))]
                : []),
            ]),
        ...event.failedOver.map((g) => one("gateway_failed", g)),
        ...(event.budgetUnits > 0 ? [{ metric: "budget_units", key: "", n: event.budgetUnits }] : []),
      ];
    case "send_failed":
      return [
        one("sms_failed"),
        one("failures", event.reason),
        ...event.gateways.map((g) => one("gateway_failed", g)),
        ...(event.budgetUnits > 0 ? [{ metric: "budget_units", key: "", n: event.budgetUnits }] : []),
      ];
    case "send_refused":
      // Apart from sends and failures: a refused request sent nothing and failed at nothing.
      return [one("refused", event.reason)];
    case "verified":
      return [one("verifications_succeeded")];
    case "wrong_code":
      return [one("verifications_failed"), one("failures", "wrong_code")];
  }
}

function dataPoint(event: OtpEvent, country: string, day: string): AnalyticsEngineDataPoint {
  const channel = "channel" in event ? event.channel : "";
  const gateway = event.kind === "sent" ? event.gateway : event.kind === "send_failed" ? event.gateways.join(",") : "";
  const outcome = "reason" in event ? event.reason : event.kind === "sent" && event.test ? "test_number" : "ok";
  const units = "budgetUnits" in event ? event.budgetUnits : 0;
  return { blobs: [event.kind, channel, gateway, country, outcome], doubles: [1, units], indexes: [day] };
}

/**
 * Counts one event after the response: an upsert in the day's shard of the
 * number, batched in the isolate for STATS_FLUSH_MS (stats-batch.ts, which
 * says what that costs in exactness), and one Analytics Engine data point.
 * A failure is logged and lost (the figures are for operators; no answer
 * waits on them).
 */
export function recordOtpEvent(deps: StatsDeps, phone: NormalizedPhone, event: OtpEvent, at = Date.now()): void {
  const day = utcDay(at);
  try {
    deps.analytics?.writeDataPoint(dataPoint(event, phone.country, day));
  } catch (err) {
    logFailure("analytics", err);
  }
  deps.background(
    (async () => {
      const { hash, shard } = await numberHash(deps.settings.otp.hashSecret, phone.e164);
      const mark: NumberMark | undefined =
        event.kind === "sent"
          ? { set: "sent", numberHash: hash }
          : event.kind === "verified"
            ? { set: "verified", numberHash: hash }
            : undefined;
      await countInBatch(
        {
          stats: deps.stats,
          flushMs: deps.settings.statsFlushMs,
          background: deps.background,
          onError: (err) => logFailure("counters", err),
        },
        day,
        shard,
        increments(event, phone.country),
        mark,
      );
    })().catch((err: unknown) => logFailure("counters", err)),
  );
}

function logFailure(where: string, error: unknown): void {
  log("stats.record_failed", { where, error });
}

/** The day's figures, summed over its shards (read concurrently). */
export interface DayCounts {
  counters: Map<string, Map<string, number>>;
  numbersSent: number;
  numbersVerified: number;
}

export async function readDay(stats: DurableObjectNamespace<StatsCounter>, day: string): Promise<DayCounts> {
  // This isolate's batch first, so what it counted shows at once (other isolates' within STATS_FLUSH_MS).
  await flushStats(stats).catch((err: unknown) => logFailure("counters", err));
  const shards: StatsShardSnapshot[] = await Promise.all(
    Array.from({ length: STATS_SHARDS }, (_, shard) => statsCounterFor(stats, day, shard).read(day)),
  );
  const counters = new Map<string, Map<string, number>>();
  let numbersSent = 0;
  let numbersVerified = 0;
  for (const s of shards) {
    numbersSent += s.numbersSent;
    numbersVerified += s.numbersVerified;
    for (const { metric, key, n } of s.counters) {
      const byKey = counters.get(metric) ?? new Map<string, number>();
      byKey.set(key, (byKey.get(key) ?? 0) + n);
      counters.set(metric, byKey);
    }
  }
  return { counters, numbersSent, numbersVerified };
}
