import { DurableObject } from "cloudflare:workers";

export type QuotaResult = { ok: true; ticket: string } | { ok: false; retryAfterMs: number };

/**
 * An exact sliding-window counter, one instance per key: per client address
 * (`ip:<address>`, OTP_MAX_SENDS_PER_IP_PER_HOUR) and per UTC day for the
 * global SMS budget (`sms-budget:<YYYY-MM-DD>`, SMS_DAILY_BUDGET).
 *
 * Each hit is a row in SQLite; `take` prunes, counts and inserts with
 * synchronous SQL and no await in between, so concurrent takes are decided
 * one after another and never exceed the limit. `release` gives back a hit
 * whose request another check refused, so a refused request spends nothing.
 */
export class QuotaCounter extends DurableObject<Env> {
  async take(limit: number, windowMs: number): Promise<QuotaResult> {
    const now = Date.now();
    const sql = this.table();
    sql.exec("DELETE FROM hits WHERE at <= ?", now - windowMs);
    const count = sql.exec<{ n: number }>("SELECT count(*) AS n FROM hits").one().n;
    if (count >= limit) {
      // The window frees a slot when the hit `count - limit` places from the oldest ages out.
      const freeing = sql
        .exec<{ at: number }>("SELECT at FROM hits ORDER BY at ASC LIMIT 1 OFFSET ?", count - limit)
        .one().at;
      return { ok: false, retryAfterMs: freeing + windowMs - now };
    }
    const ticket = crypto.randomUUID();
    sql.exec("INSERT INTO hits (ticket, at) VALUES (?, ?)", ticket, now);
    await this.ctx.storage.setAlarm(now + windowMs);
    return { ok: true, ticket };
  }

  async release(ticket: string): Promise<void> {
    this.table().exec("DELETE FROM hits WHERE ticket = ?", ticket);
  }

  /** Runs when the newest hit has aged out: nothing left can matter, so the object's storage is deleted. */
  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  /** The hits table, created on first use (again after the alarm deleted everything). */
  private table(): SqlStorage {
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS hits (ticket TEXT PRIMARY KEY, at INTEGER NOT NULL)");
    return sql;
  }
}
