import { DurableObject } from "cloudflare:workers";

export type ShardResult = { outcome: "taken" } | { outcome: "refused"; used: number };

/** The BudgetShard's RPC surface; the class implements it and the Worker's stub is typed by it. */
export interface BudgetShardRpc {
  /**
   * Take `units` under `ticket` (made by the Worker) if `used + units <= cap`;
   * all or none. Idempotent per ticket; a ticket given back before it
   * arrived takes nothing. `expiresAt`: when the shard's period is over and
   * its state may be dropped.
   */
  take(ticket: string, units: number, cap: number, expiresAt: number): Promise<ShardResult>;
  /** Give back what `ticket` took, if anything; a take with it that arrives later takes nothing. */
  release(ticket: string): Promise<void>;
  /** Units taken and not given back. */
  used(): Promise<number>;
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
 * A take reads, decides and writes with synchronous SQL and no await in
 * between, so concurrent takes are decided one after another.
 */
export class BudgetShard extends DurableObject<Env> implements BudgetShardRpc {
  async take(ticket: string, units: number, cap: number, expiresAt: number): Promise<ShardResult> {
    const sql = this.tables();
    // Already taken, or given back before it arrived (the Worker answered 503 meanwhile): nothing more.
    if (sql.exec("SELECT 1 FROM shard_tickets WHERE ticket = ?", ticket).toArray().length > 0) {
      return { outcome: "taken" };
    }
    const used = this.count(sql);
    if (used + units > cap) return { outcome: "refused", used };
    sql.exec("INSERT INTO shard_tickets (ticket, units, released) VALUES (?, ?, 0)", ticket, units);
    sql.exec("UPDATE shard_count SET used = used + ? WHERE id = 0", units);
    if (used === 0) await this.ctx.storage.setAlarm(expiresAt);
    return { outcome: "taken" };
  }

  async release(ticket: string): Promise<void> {
    const sql = this.tables();
    const row = sql
      .exec<{ units: number; released: number }>("SELECT units, released FROM shard_tickets WHERE ticket = ?", ticket)
      .toArray()[0];
    if (row === undefined) {
      sql.exec("INSERT INTO shard_tickets (ticket, units, released) VALUES (?, 0, 1)", ticket);
    } else if (row.released === 0) {
      sql.exec("UPDATE shard_tickets SET released = 1 WHERE ticket = ?", ticket);
      sql.exec("UPDATE shard_count SET used = used - ? WHERE id = 0", row.units);
    }
    // A shard that only ever saw a release: drop it a day later.
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + 86_400_000);
  }

  async used(): Promise<number> {
    return this.count(this.tables());
  }

  /** The period is over: nothing will take from this shard again. */
  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  private count(sql: SqlStorage): number {
    return sql.exec<{ used: number }>("SELECT used FROM shard_count WHERE id = 0").one().used;
  }

  private tables(): SqlStorage {
    const sql = this.ctx.storage.sql;
    sql.exec(
      "CREATE TABLE IF NOT EXISTS shard_tickets (ticket TEXT PRIMARY KEY, units INTEGER NOT NULL, released INTEGER NOT NULL)",
    );
    sql.exec("CREATE TABLE IF NOT EXISTS shard_count (id INTEGER PRIMARY KEY, used INTEGER NOT NULL)");
    sql.exec("INSERT OR IGNORE INTO shard_count (id, used) VALUES (0, 0)");
    return sql;
  }
}

/** One shard by name, placed near the users (`locationHint`, e.g. apac); typed by its RPC surface (see limiter-for.ts). */
export function budgetShardFor(
  namespace: DurableObjectNamespace<BudgetShard>,
  name: string,
  locationHint?: DurableObjectLocationHint,
): BudgetShardRpc {
  const stub = locationHint ? namespace.getByName(name, { locationHint }) : namespace.getByName(name);
  return stub as unknown as BudgetShardRpc;
}
