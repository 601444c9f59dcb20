/**
 * Platform layer: exact per-day counts for the operator (src/platform/stats/).
 * One StatsCounter per UTC day and shard (`stats:<YYYY-MM-DD>:<0..SHARDS-1>`);
 * the domain (src/domain/stats/) picks the shard from a keyed hash of the
 * number, so one number's events always land in one shard (its distinct-number
 * sets are exact there) while many numbers spread over every shard, and no
 * single object takes every event of the day (the hot spot the SMS budget
 * avoids too). GET /admin/stats reads the day's shards concurrently and sums.
 */
import { DurableObject } from "cloudflare:workers";
import { DAY_MS } from "../../kernel/time";

/** Shards per day. Each takes about 1/SHARDS of the day's events. */
export const STATS_SHARDS = 8;

/** Days a day's counts are kept after the day: "at least 30 days", then the object deletes itself. */
export const STATS_KEEP_DAYS = 35;

/** One count to add: `metric` (e.g. sms_sent) under `key` (a gateway, a country, a reason; "" for none). */
export interface StatsIncrement {
  metric: string;
  key: string;
  n: number;
  /**
   * At most this many distinct keys of the metric are kept per day in a shard:
   * a count under a new key past them goes to OTHER_KEY ("other").
   */
  cap?: number;
}

/** The key a capped metric's counts go under once its distinct keys are full. */
export const OTHER_KEY = "other";

/** A number, as a keyed hash (never the number), joining the day's set of numbers sent a code or that verified. */
export interface NumberMark {
  set: "sent" | "verified";
  numberHash: string;
}

export interface StatsShardSnapshot {
  counters: StatsIncrement[];
  /** Distinct numbers sent a code this day in this shard. */
  numbersSent: number;
  /** Distinct numbers that verified this day and were sent a code this day, in this shard. */
  numbersVerified: number;
}

/** The StatsCounter's RPC surface: the class implements it and the Worker's stub is typed by it. */
export interface StatsCounterRpc {
  /** Adds the increments and the marks at once (a batch of events, stats-batch.ts): O(1) upserts each, one round trip. */
  record(day: string, increments: readonly StatsIncrement[], marks?: NumberMark | readonly NumberMark[]): Promise<void>;
  read(day: string): Promise<StatsShardSnapshot>;
}

/**
 * Counters in SQLite: `counters (day, metric, key, n)` with an upsert per
 * increment, and the sets `sent_numbers` / `verified_numbers` of keyed number
 * hashes. Every method is synchronous SQL, so concurrent records never lose a
 * count. The object's alarm deletes everything STATS_KEEP_DAYS after its day.
 */
export class StatsCounter extends DurableObject<Env> implements StatsCounterRpc {
  async record(
    day: string,
    increments: readonly StatsIncrement[],
    marks?: NumberMark | readonly NumberMark[],
  ): Promise<void> {
    const sql = this.tables();
    for (const { metric, key: asked, n, cap } of increments) {
      const key = cap === undefined ? asked : keptKey(sql, day, metric, asked, cap);
      sql.exec(
        "INSERT INTO counters (day, metric, key, n) VALUES (?, ?, ?, ?) ON CONFLICT (day, metric, key) DO UPDATE SET n = n + excluded.n",
        day,
        metric,
        key,
        n,
      );
    }
    for (const mark of marks === undefined ? [] : Array.isArray(marks) ? marks : [marks as NumberMark]) {
      const table = mark.set === "sent" ? "sent_numbers" : "verified_numbers";
      sql.exec(`INSERT OR IGNORE INTO ${table} (day, hash) VALUES (?, ?)`, day, mark.numberHash);
    }
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(Date.parse(`${day}T00:00:00Z`) + (STATS_KEEP_DAYS + 1) * DAY_MS);
    }
  }

  async read(day: string): Promise<StatsShardSnapshot> {
    // A day that was never written leaves nothing behind: no tables are made just to read it.
    const empty = this.ctx.storage.sql
      .exec<{ n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'counters'")
      .one().n;
    if (empty === 0) return { counters: [], numbersSent: 0, numbersVerified: 0 };
    const sql = this.tables();
    const counters = sql
      .exec<{ metric: string; key: string; n: number }>("SELECT metric, key, n FROM counters WHERE day = ?", day)
      .toArray()
      .map((r) => ({ metric: r.metric, key: r.key, n: r.n }));
    const numbersSent = sql.exec<{ n: number }>("SELECT count(*) AS n FROM sent_numbers WHERE day = ?", day).one().n;
    const numbersVerified = sql
      .exec<{ n: number }>(
        "SELECT count(*) AS n FROM verified_numbers v JOIN sent_numbers s ON s.day = v.day AND s.hash = v.hash WHERE v.day = ?",
        day,
      )
      .one().n;
    return { counters, numbersSent, numbersVerified };
  }

  /** STATS_KEEP_DAYS after the day: nothing of it is kept. */
  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  private tables(): SqlStorage {
    const sql = this.ctx.storage.sql;
    sql.exec(
      "CREATE TABLE IF NOT EXISTS counters (day TEXT NOT NULL, metric TEXT NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (day, metric, key))",
    );
    sql.exec(
      "CREATE TABLE IF NOT EXISTS sent_numbers (day TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (day, hash))",
    );
    sql.exec(
      "CREATE TABLE IF NOT EXISTS verified_numbers (day TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (day, hash))",
    );
    return sql;
  }
}

/** `key` when the metric has it already or room for it (fewer than `cap` keys besides OTHER_KEY), else OTHER_KEY. */
function keptKey(sql: SqlStorage, day: string, metric: string, key: string, cap: number): string {
  const known = sql
    .exec<{ n: number }>(
      "SELECT count(*) AS n FROM counters WHERE day = ? AND metric = ? AND key = ?",
      day,
      metric,
      key,
    )
    .one().n;
  if (known > 0) return key;
  const distinct = sql
    .exec<{ n: number }>(
      "SELECT count(*) AS n FROM counters WHERE day = ? AND metric = ? AND key != ?",
      day,
      metric,
      OTHER_KEY,
    )
    .one().n;
  return distinct < cap ? key : OTHER_KEY;
}

/** The shard `shard` of `day`, typed by the class's RPC surface (see limiterFor in phone-limiter.ts for why the cast). */
export function statsCounterFor(
  namespace: DurableObjectNamespace<StatsCounter>,
  day: string,
  shard: number,
): StatsCounterRpc {
  return namespace.getByName(`stats:${day}:${shard}`) as unknown as StatsCounterRpc;
}
