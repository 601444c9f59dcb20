import { DurableObject } from "cloudflare:workers";

/**
 * How long a ticket counts as held (it may still be given back) after its
 * take; after that it counts as committed unless it was given back. Long
 * enough for a request to give back what it took: a send refused by the
 * number gives back within two storage calls (each at most
 * STORAGE_TIMEOUT_MS, 30 s at most), and with the default settings a send
 * the gateway refused gives back within 2 × 5 s of storage and the 20 s
 * SMS_SEND_DEADLINE_MS. A hold that outlives it only makes a shard look
 * spent to an isolate for a while (see send-quotas.ts); it never lets the
 * shards hand out more than their caps.
 */
export const HOLD_WINDOW_MS = 60_000;

/**
 * A shard that cannot take the units: `used` is every unit taken and not
 * given back, `held` the part of it taken within HOLD_WINDOW_MS, which may
 * still be given back. `used - held` is committed.
 */
export type ShardRefusal = { outcome: "refused"; used: number; held: number };
export type ShardResult = { outcome: "taken" } | ShardRefusal;
/** What a probe found: room for `units` more under `cap`, or the refusal a take would meet. */
export type ShardProbe = { outcome: "room"; free: number } | ShardRefusal;

/** The BudgetShard's RPC surface; the class implements it and the Worker's stub is typed by it. */
export interface BudgetShardRpc {
  /**
   * Take `units` under `ticket` (made by the Worker) if `used + units <= cap`;
   * all or none. Idempotent per ticket; a ticket given back before it
   * arrived takes nothing. `expiresAt`: when the shard's period is over and
   * its state may be dropped.
   */
  take(ticket: string, units: number, cap: number, expiresAt: number): Promise<ShardResult>;
  /**
   * Give back what `ticket` took, if anything. With `late` (the default: the
   * take passed its deadline and may still arrive), a take with it that
   * arrives later takes nothing; without, the ticket's row is simply removed,
   * so a request refused elsewhere leaves nothing in the shard.
   */
  release(ticket: string, late?: boolean): Promise<void>;
  /** Units taken and not given back. */
  used(): Promise<number>;
  /**
   * Whether a take of `units` under `cap` would be taken now, and how many
   * units are free; writes nothing, so it costs the shard no state (a shard
   * that was never taken from stays empty).
   */
  probe(units: number, cap: number): Promise<ShardProbe>;
}

/**
 * One shard of a global counter for a fixed period: the day's SMS budget
 * (`sms-budget:<YYYY-MM-DD>:<i>`) or one network's hourly sends
 * (`asn:<asn>:<hour>:<i>`). The caller splits the global limit between
 * shards and passes this shard's cap on each take, so the sum of what all
 * shards hand out never exceeds the limit, however many takes run at once.
 *
 * O(1) per call: the count is kept in one row (never counted), and each
 * ticket is a row found by its primary key (idempotency and tombstones).
 * Only a refusal also sums the units still held (tickets not given back
 * and taken within HOLD_WINDOW_MS, found through a partial index on the
 * take's time), so a caller can tell a shard spent by committed units from
 * one that is full only for the moment. A take reads, decides and writes
 * with synchronous SQL and no await in between, so concurrent takes are
 * decided one after another.
 */
export class BudgetShard extends DurableObject<Env> implements BudgetShardRpc {
  /** Whether this instance has made (and migrated) its tables since it started or its alarm cleared them. */
  private ready = false;

  async take(ticket: string, units: number, cap: number, expiresAt: number): Promise<ShardResult> {
    const sql = this.tables();
    // Already taken, or given back before it arrived (the Worker answered 503 meanwhile): nothing more.
    if (sql.exec("SELECT 1 FROM shard_tickets WHERE ticket = ?", ticket).toArray().length > 0) {
      return { outcome: "taken" };
    }
    const used = this.count(sql);
    if (used + units > cap) return { outcome: "refused", used, held: this.held(sql) };
    sql.exec("INSERT INTO shard_tickets (ticket, units, released, at) VALUES (?, ?, 0, ?)", ticket, units, Date.now());
    sql.exec("UPDATE shard_count SET used = used + ? WHERE id = 0", units);
    if (used === 0) await this.ctx.storage.setAlarm(expiresAt);
    return { outcome: "taken" };
  }

  async release(ticket: string, late = true): Promise<void> {
    const sql = this.tables();
    const row = sql
      .exec<{ units: number; released: number }>("SELECT units, released FROM shard_tickets WHERE ticket = ?", ticket)
      .toArray()[0];
    if (row?.released === 0) sql.exec("UPDATE shard_count SET used = used - ? WHERE id = 0", row.units);
    if (!late) {
      // The take answered in time and cannot arrive again: nothing to remember.
      if (row !== undefined) sql.exec("DELETE FROM shard_tickets WHERE ticket = ? AND released = 0", ticket);
      return;
    }
    if (row === undefined) {
      sql.exec("INSERT INTO shard_tickets (ticket, units, released, at) VALUES (?, 0, 1, ?)", ticket, Date.now());
    } else if (row.released === 0) {
      sql.exec("UPDATE shard_tickets SET released = 1 WHERE ticket = ?", ticket);
    }
    // A shard that only ever saw a release: drop it a day later.
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + 86_400_000);
  }

  async used(): Promise<number> {
    return this.count(this.tables());
  }

  async probe(units: number, cap: number): Promise<ShardProbe> {
    const sql = this.ctx.storage.sql;
    // Never taken from (or cleared by its alarm): all of it is free, and probing creates nothing.
    const exists = sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'shard_count'").toArray();
    if (exists.length === 0)
      return units <= cap ? { outcome: "room", free: cap } : { outcome: "refused", used: 0, held: 0 };
    const tables = this.tables();
    const used = this.count(tables);
    if (used + units > cap) return { outcome: "refused", used, held: this.held(tables) };
    return { outcome: "room", free: cap - used };
  }

  /** The period is over: nothing will take from this shard again. */
  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
    this.ready = false;
  }

  private count(sql: SqlStorage): number {
    return sql.exec<{ used: number }>("SELECT used FROM shard_count WHERE id = 0").one().used;
  }

  /** Units taken within HOLD_WINDOW_MS and not given back (they may still be). */
  private held(sql: SqlStorage): number {
    return sql
      .exec<{ held: number }>(
        "SELECT coalesce(sum(units), 0) AS held FROM shard_tickets WHERE released = 0 AND at > ?",
        Date.now() - HOLD_WINDOW_MS,
      )
      .one().held;
  }

  private tables(): SqlStorage {
    const sql = this.ctx.storage.sql;
    if (this.ready) return sql;
    sql.exec(
      "CREATE TABLE IF NOT EXISTS shard_tickets (ticket TEXT PRIMARY KEY, units INTEGER NOT NULL, released INTEGER NOT NULL, at INTEGER NOT NULL DEFAULT 0)",
    );
    // A shard made before tickets had a time: its tickets count as committed (taken at 0).
    const hasAt = sql.exec("SELECT 1 FROM pragma_table_info('shard_tickets') WHERE name = 'at'").toArray();
    if (hasAt.length === 0) sql.exec("ALTER TABLE shard_tickets ADD COLUMN at INTEGER NOT NULL DEFAULT 0");
    sql.exec("CREATE INDEX IF NOT EXISTS shard_tickets_held ON shard_tickets (at) WHERE released = 0");
    sql.exec("CREATE TABLE IF NOT EXISTS shard_count (id INTEGER PRIMARY KEY, used INTEGER NOT NULL)");
    sql.exec("INSERT OR IGNORE INTO shard_count (id, used) VALUES (0, 0)");
    this.ready = true;
    return sql;
  }
}

/** One shard by name, placed near the users (`locationHint`, e.g. apac); typed by its RPC surface (see limiterFor in phone-limiter.ts). */
export function budgetShardFor(
  namespace: DurableObjectNamespace<BudgetShard>,
  name: string,
  locationHint?: DurableObjectLocationHint,
): BudgetShardRpc {
  const stub = locationHint ? namespace.getByName(name, { locationHint }) : namespace.getByName(name);
  return stub as unknown as BudgetShardRpc;
}
