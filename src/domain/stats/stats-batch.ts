/**
 * Domain layer: the operator's exact counts, batched per isolate
 * (STATS_FLUSH_MS). Without it every OTP event was one StatsCounter call
 * after the response, two per sign-in. Now the first event of a batch opens
 * it and, in that request's waitUntil, flushes it STATS_FLUSH_MS later: one
 * `record` per (day, shard) the batch touched, carrying every event the
 * isolate counted meanwhile, summed (so under load a sign-in costs a fraction
 * of a call). A batch of BATCH_MAX_EVENTS is flushed at once.
 *
 * What it costs in exactness (docs/operations.md): the figures reach the
 * StatsCounter up to STATS_FLUSH_MS late (GET /admin/stats flushes its own
 * isolate's batch first, not other isolates'); a flush that fails loses the
 * whole batch, where a failed call lost one event before (both are logged as
 * `stats.record_failed`); and a batch is lost if the runtime ends the isolate
 * before the waitUntil that holds it runs out (it has 30 s; the flush is due
 * after STATS_FLUSH_MS). Nothing that guards a limit is counted here: every
 * limit stays exact in its own Durable Object.
 */
import type { NumberMark, StatsCounter, StatsIncrement } from "../../platform/stats/stats-counter";
import { statsCounterFor } from "../../platform/stats/stats-counter";

/** Events in one batch before it is flushed without waiting for its time. */
export const BATCH_MAX_EVENTS = 200;

type Stats = DurableObjectNamespace<StatsCounter>;

interface ShardBatch {
  day: string;
  shard: number;
  increments: Map<string, StatsIncrement>;
  marks: NumberMark[];
}

interface Batch {
  shards: Map<string, ShardBatch>;
  events: number;
}

/** The open batch of each StatsCounter binding in this isolate (one per environment object's binding). */
const open = new WeakMap<Stats, Batch>();

export interface BatchDeps {
  stats: Stats;
  /** 0: every event is its own call, at once (the behaviour before batching). */
  flushMs: number;
  background: (work: Promise<unknown>) => void;
  onError: (err: unknown) => void;
}

/** Adds one event's counts to the isolate's batch for its day and shard (or, with flushMs 0, records them at once). */
export function countInBatch(
  deps: BatchDeps,
  day: string,
  shard: number,
  increments: readonly StatsIncrement[],
  mark: NumberMark | undefined,
): Promise<void> {
  if (deps.flushMs === 0) return statsCounterFor(deps.stats, day, shard).record(day, increments, mark);
  let batch = open.get(deps.stats);
  if (!batch) {
    batch = { shards: new Map(), events: 0 };
    open.set(deps.stats, batch);
    const { stats, flushMs } = deps;
    // Flushed by the request that opened it, after the window (waitUntil keeps it alive that long).
    deps.background(
      new Promise((resolve) => setTimeout(resolve, flushMs)).then(() => flushStats(stats).catch(deps.onError)),
    );
  }
  const id = `${day}:${shard}`;
  let shardBatch = batch.shards.get(id);
  if (!shardBatch) {
    shardBatch = { day, shard, increments: new Map(), marks: [] };
    batch.shards.set(id, shardBatch);
  }
  for (const inc of increments) {
    const key = `${inc.metric}\u0000${inc.key}`;
    const had = shardBatch.increments.get(key);
    shardBatch.increments.set(key, had ? { ...had, n: had.n + inc.n } : { ...inc });
  }
  if (mark) shardBatch.marks.push(mark);
  batch.events++;
  if (batch.events >= BATCH_MAX_EVENTS) deps.background(flushStats(deps.stats).catch(deps.onError));
  return Promise.resolve();
}

/** Writes this isolate's open batch of `stats` now (one call per day and shard in it); nothing when none is open. */
export async function flushStats(stats: Stats): Promise<void> {
  const batch = open.get(stats);
  if (!batch) return;
  open.delete(stats);
  await Promise.all(
    [...batch.shards.values()].map((s) =>
      statsCounterFor(stats, s.day, s.shard).record(s.day, [...s.increments.values()], s.marks),
    ),
  );
}
