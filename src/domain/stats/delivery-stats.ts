/**
 * Domain layer: the day's delivery figures (src/domain/stats/). Sends count
 * as `sent` events (otp-events.ts, by gateway and channel, with their
 * fallbacks); the gateways' reports count here, once each report moved its
 * message (recordReports answers an AppliedReport), all of one webhook post's
 * in one StatsCounter write per day (a shard picked at random: these counts
 * need no number, so none is hashed). A report counts on the UTC day its
 * message was sent, so the day's sent, delivered, failed and unreported add up.
 */
import { log } from "../../kernel/log/log";
import { dltProblem } from "../../platform/delivery/dlt-reasons";
import type { AppliedReport } from "../../platform/limiter/limiter-types";
import {
  OTHER_KEY,
  STATS_SHARDS,
  type StatsCounter,
  type StatsIncrement,
  statsCounterFor,
} from "../../platform/stats/stats-counter";
import { type DayCounts, DELIVERY_METRICS, routeKey, utcDay } from "./otp-events";

/**
 * The time-to-delivery histogram's buckets, in seconds (each an upper bound,
 * inclusive). The last also holds anything later (a gateway's clock far off).
 */
export const LATENCY_BUCKETS_SECONDS = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 300, 600, 3600] as const;

/** Distinct failure reasons kept per day (in each shard, and in the answer); the rest count as "other". */
export const MAX_FAILURE_REASONS = 20;

/** The longest normalised failure reason kept. */
const MAX_REASON_LENGTH = 40;

/** An applied report with the reason it carried (a failure's). */
export interface CountedReport extends AppliedReport {
  reason?: string | undefined;
}

/**
 * A failure's reason as the day's figures name it: the DLT problem when
 * dltProblem names one (SMS gateways), else the reason lower-cased, runs of
 * other characters as `_`, runs of 7 or more digits (a number, an id) as `#`,
 * at most 40 characters; WhatsApp's error codes as `whatsapp_<code>`.
 */
export function failureReasonKey(gateway: string, reason: string | undefined): string {
  const whatsapp = gateway === "whatsapp";
  const problem = whatsapp ? null : dltProblem(reason);
  if (problem !== null) return problem;
  const short = (reason ?? "")
    .toLowerCase()
    .replace(/\d{7,}/g, "#")
    .replace(/[^a-z0-9#]+/g, "_")
    .slice(0, MAX_REASON_LENGTH)
    .replace(/^_+|_+$/g, "");
  const named = short === "" ? "unspecified" : short;
  return whatsapp ? `whatsapp_${named}` : named;
}

/** The histogram bucket (seconds) of a delivery `ms` after its send. */
export function latencyBucket(ms: number): number {
  const seconds = Math.max(0, ms) / 1000;
  return LATENCY_BUCKETS_SECONDS.find((b) => seconds <= b) ?? LATENCY_BUCKETS_SECONDS.at(-1)!;
}

/** Each report's counts, summed by day, metric and key. */
function incrementsByDay(reports: readonly CountedReport[]): Map<string, StatsIncrement[]> {
  const days = new Map<string, Map<string, StatsIncrement>>();
  const add = (day: string, metric: string, key: string, n: number, cap?: number) => {
    const byKey = days.get(day) ?? new Map<string, StatsIncrement>();
    days.set(day, byKey);
    const id = `${metric}\u0000${key}`;
    const before = byKey.get(id);
    byKey.set(id, { metric, key, n: (before?.n ?? 0) + n, ...(cap === undefined ? {} : { cap }) });
  };
  for (const r of reports) {
    const day = utcDay(r.sentAt);
    const route = routeKey(r.gateway, r.channel);
    if (r.status === "delivered") {
      add(day, DELIVERY_METRICS.delivered, route, 1);
      // A delivery after a failure: the message is no longer a failed one (its failure's reason stays counted).
      if (r.wasFailed) add(day, DELIVERY_METRICS.failed, route, -1);
      add(day, DELIVERY_METRICS.latency, `${route}/${latencyBucket(r.at - r.sentAt)}`, 1);
    } else {
      add(day, DELIVERY_METRICS.failed, route, 1);
      add(day, DELIVERY_METRICS.failureReason, failureReasonKey(r.gateway, r.reason), 1, MAX_FAILURE_REASONS);
    }
  }
  return new Map([...days].map(([day, byKey]) => [day, [...byKey.values()].filter((i) => i.n !== 0)]));
}

/** Counts the reports: one StatsCounter write per UTC day they were sent on (usually one). */
export async function countDeliveryReports(
  stats: DurableObjectNamespace<StatsCounter>,
  reports: readonly CountedReport[],
): Promise<void> {
  for (const [day, increments] of incrementsByDay(reports)) {
    if (increments.length === 0) continue;
    const shard = crypto.getRandomValues(new Uint8Array(1))[0]! % STATS_SHARDS;
    await statsCounterFor(stats, day, shard).record(day, increments);
  }
}

/** countDeliveryReports after the response; a failure is logged and lost, like an OTP event's. */
export function recordDeliveryReports(
  deps: { stats: DurableObjectNamespace<StatsCounter>; background: (work: Promise<unknown>) => void },
  reports: readonly CountedReport[],
): void {
  if (reports.length === 0) return;
  deps.background(
    countDeliveryReports(deps.stats, reports).catch((error: unknown) =>
      log("stats.record_failed", { where: "delivery", error }),
    ),
  );
}

/** One gateway's figures on one channel, for /admin/stats. */
export interface RouteFigures {
  sent: number;
  delivered: number;
  failed: number;
  unreported: number;
  fallbacks: number;
  p50_seconds: number | null;
  p95_seconds: number | null;
}

export interface DeliveryFigures {
  by_gateway: Record<string, Record<string, RouteFigures>>;
  failures_by_reason: Record<string, number>;
}

/** The smallest bucket bound under which at least `p` of the deliveries fall, or null with none. */
function percentile(histogram: ReadonlyMap<number, number>, p: number): number | null {
  const total = [...histogram.values()].reduce((a, b) => a + b, 0);
  if (total <= 0) return null;
  const rank = Math.ceil(p * total);
  let seen = 0;
  for (const bound of LATENCY_BUCKETS_SECONDS) {
    seen += histogram.get(bound) ?? 0;
    if (seen >= rank) return bound;
  }
  return LATENCY_BUCKETS_SECONDS.at(-1)!;
}

/** `gateway/channel` (and `/bucket` for the histogram) back into its parts. */
function splitRoute(key: string): [gateway: string, channel: string] {
  const at = key.lastIndexOf("/");
  return at < 0 ? [key, ""] : [key.slice(0, at), key.slice(at + 1)];
}

/**
 * The day's delivery figures, by gateway and channel, summed over its shards;
 * the failure reasons the MAX_FAILURE_REASONS most frequent, the rest as "other".
 */
export function deliveryFigures(counts: DayCounts): DeliveryFigures {
  const routes = new Map<string, RouteFigures & { histogram: Map<number, number> }>();
  const route = (key: string) => {
    let r = routes.get(key);
    if (!r) {
      r = {
        sent: 0,
        delivered: 0,
        failed: 0,
        unreported: 0,
        fallbacks: 0,
        p50_seconds: null,
        p95_seconds: null,
        histogram: new Map(),
      };
      routes.set(key, r);
    }
    return r;
  };
  const metric = (name: string) => counts.counters.get(name) ?? new Map<string, number>();
  for (const [key, n] of metric(DELIVERY_METRICS.sent)) route(key).sent += n;
  for (const [key, n] of metric(DELIVERY_METRICS.fallbacks)) route(key).fallbacks += n;
  for (const [key, n] of metric(DELIVERY_METRICS.delivered)) route(key).delivered += n;
  for (const [key, n] of metric(DELIVERY_METRICS.failed)) route(key).failed += n;
  for (const [key, n] of metric(DELIVERY_METRICS.latency)) {
    const [of, bucket] = splitRoute(key);
    const histogram = route(of).histogram;
    histogram.set(Number(bucket), (histogram.get(Number(bucket)) ?? 0) + n);
  }
  const byGateway: DeliveryFigures["by_gateway"] = {};
  for (const [key, { histogram, ...r }] of [...routes].sort(([a], [b]) => a.localeCompare(b))) {
    const [gateway, channel] = splitRoute(key);
    const failed = Math.max(0, r.failed);
    byGateway[gateway] ??= {};
    byGateway[gateway][channel] = {
      ...r,
      failed,
      unreported: Math.max(0, r.sent - r.delivered - failed),
      p50_seconds: percentile(histogram, 0.5),
      p95_seconds: percentile(histogram, 0.95),
    };
  }
  return { by_gateway: byGateway, failures_by_reason: topReasons(metric(DELIVERY_METRICS.failureReason)) };
}

/** The most frequent reasons (ties by name), the rest summed under "other". */
function topReasons(reasons: ReadonlyMap<string, number>): Record<string, number> {
  const named = [...reasons]
    .filter(([key, n]) => key !== OTHER_KEY && n > 0)
    .sort(([ka, a], [kb, b]) => b - a || ka.localeCompare(kb));
  const kept = named.slice(0, MAX_FAILURE_REASONS);
  const other = (reasons.get(OTHER_KEY) ?? 0) + named.slice(MAX_FAILURE_REASONS).reduce((a, [, n]) => a + n, 0);
  return Object.fromEntries([...kept, ...(other > 0 ? [[OTHER_KEY, other] as const] : [])]);
}
