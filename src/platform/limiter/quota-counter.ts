import { DurableObject } from "cloudflare:workers";
import { HOUR_MS } from "../../kernel/time";

/** How long a given-back ticket is remembered, so a take with it that arrives late takes nothing. */
const RELEASED_TICKET_TTL_MS = HOUR_MS;

/** Whether a hit of quota_hits counts at `?` (now): a pending one until it lapses, any other for its window. */
const COUNTS = "(lapses_at IS NULL OR lapses_at > ?)";
/** When a counting hit stops counting: its lapse if pending, else the end of the window `?`. */
const COUNTS_UNTIL = "coalesce(lapses_at, at + ?)";

export type QuotaResult = { outcome: "taken" } | { outcome: "refused"; retryAfterMs: number };

/**
 * One of several hits taken together (takeAll). `counter` names the count
 * within the object: "" is the object's own (the one `take` counts), any
 * other name a count of its own (e.g. "requests", the client's hourly
 * /send-otp requests beside its sends, so both cost one call).
 */
export interface QuotaTake {
  ticket: string;
  limit: number;
  windowMs: number;
  counter: string;
}

/** The QuotaCounter's RPC surface; the class implements it and the Worker's stub is typed by it. */
export interface QuotaCounterRpc {
  /** Take one hit under `ticket` (made by the Worker) if fewer than `limit` were taken in the last `windowMs`. Idempotent per ticket. */
  take(ticket: string, limit: number, windowMs: number): Promise<QuotaResult>;
  /**
   * Takes every hit or none, in one synchronous step: when any count is at
   * its limit nothing is taken and every result is that refusal. Idempotent
   * per ticket.
   */
  takeAll(takes: readonly QuotaTake[]): Promise<QuotaResult[]>;
  /**
   * Take one hit under `ticket` as `take` does, but pending: it counts
   * against the limit for `lapseMs` and then stops counting by itself,
   * unless `confirm` made it a hit of its whole window first (or after).
   * Idempotent per ticket, and a ticket given back before it arrived takes
   * nothing, as with `take`.
   */
  hold(ticket: string, limit: number, windowMs: number, lapseMs: number): Promise<QuotaResult>;
  /**
   * Makes the pending hit under `ticket` a hit of its whole window (from
   * when it was taken), also when it has lapsed already: a late confirm
   * still counts. A ticket with no hit (given back, or never taken) is left
   * as it is; confirming twice is confirming once.
   */
  confirm(ticket: string): Promise<void>;
  /**
   * Give back the hit taken under `ticket`, if there is one. With `late`
   * (the default: the take passed its deadline and may still arrive), the
   * ticket is remembered for an hour, so a take with it that arrives later
   * takes nothing; without, nothing is written beyond the hit's removal.
   */
  release(ticket: string, late?: boolean): Promise<void>;
}

/**
 * An exact sliding-window counter, one instance per key: a client's sends
 * (`ip:<client key>`, OTP_MAX_SENDS_PER_IP_PER_HOUR) and, in the same object
 * under the counter "requests" (takeAll), its requests to /send-otp; its verifies (`verify:…`), its failed
 * refreshes (`refresh-fail:…`) and its failed admin logins (`admin-fail:…`).
 * The day's SMS budget and each network's hourly sends are BudgetShard's
 * (budget-shard.ts), not this counter's.
 *
 * Each hit is a row in SQLite under a ticket the Worker made; `take` prunes,
 * counts and inserts with synchronous SQL and no await in between, so
 * concurrent takes are decided one after another and never exceed the limit.
 * `release` gives back a hit whose request another check refused (or whose
 * answer came too late), so a refused request spends nothing.
 *
 * `hold` takes a pending hit instead (a verify's): it counts like any other
 * while pending, so concurrent holds never exceed the limit either, and
 * stops counting by itself at its lapses_at unless `confirm` made it a hit
 * of its whole window. What is given back most often (a right code) then
 * costs no call at all.
 */
export class QuotaCounter extends DurableObject<Env> implements QuotaCounterRpc {
  async take(ticket: string, limit: number, windowMs: number): Promise<QuotaResult> {
    return this.takeOne(ticket, limit, windowMs, undefined);
  }

  async hold(ticket: string, limit: number, windowMs: number, lapseMs: number): Promise<QuotaResult> {
    return this.takeOne(ticket, limit, windowMs, lapseMs);
  }

  async confirm(ticket: string): Promise<void> {
    this.table().exec("UPDATE quota_hits SET lapses_at = NULL WHERE ticket = ?", ticket);
  }

  /** take and hold: prune, check and insert in one synchronous step; a pending hit (lapseMs) gets its lapses_at. */
  private async takeOne(
    ticket: string,
    limit: number,
    windowMs: number,
    lapseMs: number | undefined,
  ): Promise<QuotaResult> {
    const now = Date.now();
    const sql = this.table();
    sql.exec("DELETE FROM quota_hits WHERE at <= ?", now - windowMs);
    sql.exec("DELETE FROM released_tickets WHERE at <= ?", now - windowMs);
    // A lapsed hit is still known by its ticket, so the same take arriving again takes nothing.
    if (sql.exec("SELECT 1 FROM quota_hits WHERE ticket = ?", ticket).toArray().length > 0) return { outcome: "taken" };
    // Given back before this take arrived (the Worker answered 503 meanwhile): take nothing.
    if (sql.exec("SELECT 1 FROM released_tickets WHERE ticket = ?", ticket).toArray().length > 0)
      return { outcome: "taken" };
    const refusal = this.ownRefusal(sql, limit, windowMs, now);
    if (refusal) return refusal;
    const lapsesAt = lapseMs === undefined ? null : now + lapseMs;
    sql.exec(
      "INSERT INTO quota_hits (ticket, at, window_ms, lapses_at) VALUES (?, ?, ?, ?)",
      ticket,
      now,
      windowMs,
      lapsesAt,
    );
    await this.ctx.storage.setAlarm(now + windowMs);
    return { outcome: "taken" };
  }

  /**
   * The refusal of the object's own count when `limit` hits count now (a
   * pending hit until it lapses, any other for its window), else undefined.
   * A slot frees when the hit `count - limit` places from the first to stop
   * counting stops.
   */
  private ownRefusal(sql: SqlStorage, limit: number, windowMs: number, now: number): QuotaResult | undefined {
    const count = sql.exec<{ n: number }>(`SELECT count(*) AS n FROM quota_hits WHERE ${COUNTS}`, now).one().n;
    if (count < limit) return undefined;
    const freeing = sql
      .exec<{ until: number }>(
        `SELECT ${COUNTS_UNTIL} AS until FROM quota_hits WHERE ${COUNTS} ORDER BY until ASC LIMIT 1 OFFSET ?`,
        windowMs,
        now,
        count - limit,
      )
      .one().until;
    return { outcome: "refused", retryAfterMs: freeing - now };
  }

  async takeAll(takes: readonly QuotaTake[]): Promise<QuotaResult[]> {
    const now = Date.now();
    const sql = this.table();
    const results: QuotaResult[] = [];
    let refusal: QuotaResult | undefined;
    for (const t of takes) {
      const result = this.check(sql, t, now);
      results.push(result);
      if (result.outcome === "refused" && !refusal) refusal = result;
    }
    if (refusal) return takes.map(() => refusal);
    let latest = 0;
    for (const t of takes) {
      if (this.known(sql, t.ticket)) continue;
      if (t.counter === "") {
        sql.exec("INSERT INTO quota_hits (ticket, at, window_ms) VALUES (?, ?, ?)", t.ticket, now, t.windowMs);
      } else {
        sql.exec(
          "INSERT INTO named_hits (counter, ticket, at, window_ms) VALUES (?, ?, ?, ?)",
          t.counter,
          t.ticket,
          now,
          t.windowMs,
        );
      }
      latest = Math.max(latest, t.windowMs);
    }
    if (latest > 0) await this.ctx.storage.setAlarm(now + latest);
    return results;
  }

  /** Whether `ticket` was taken already, or given back before its take arrived: either way, take nothing. */
  private known(sql: SqlStorage, ticket: string): boolean {
    return (
      sql.exec("SELECT 1 FROM quota_hits WHERE ticket = ?", ticket).toArray().length > 0 ||
      sql.exec("SELECT 1 FROM named_hits WHERE ticket = ?", ticket).toArray().length > 0 ||
      sql.exec("SELECT 1 FROM released_tickets WHERE ticket = ?", ticket).toArray().length > 0
    );
  }

  /** One take of takeAll decided, nothing written: taken (or known) when its count has room. */
  private check(sql: SqlStorage, t: QuotaTake, now: number): QuotaResult {
    if (t.counter === "") {
      sql.exec("DELETE FROM quota_hits WHERE at <= ?", now - t.windowMs);
    } else {
      sql.exec("DELETE FROM named_hits WHERE counter = ? AND at <= ?", t.counter, now - t.windowMs);
    }
    sql.exec("DELETE FROM released_tickets WHERE at <= ?", now - t.windowMs);
    if (this.known(sql, t.ticket)) return { outcome: "taken" };
    // The object's own count is the one `take` and `hold` count: a lapsed hit in it no longer counts.
    if (t.counter === "") return this.ownRefusal(sql, t.limit, t.windowMs, now) ?? { outcome: "taken" };
    const count = sql.exec<{ n: number }>("SELECT count(*) AS n FROM named_hits WHERE counter = ?", t.counter).one().n;
    if (count < t.limit) return { outcome: "taken" };
    // The window frees a slot when the hit `count - limit` places from the oldest ages out.
    const freeing = sql
      .exec<{ at: number }>(
        "SELECT at FROM named_hits WHERE counter = ? ORDER BY at ASC LIMIT 1 OFFSET ?",
        t.counter,
        count - t.limit,
      )
      .one().at;
    return { outcome: "refused", retryAfterMs: freeing + t.windowMs - now };
  }

  async release(ticket: string, late = true): Promise<void> {
    const sql = this.table();
    sql.exec("DELETE FROM quota_hits WHERE ticket = ?", ticket);
    sql.exec("DELETE FROM named_hits WHERE ticket = ?", ticket);
    // A take that answered in time cannot arrive again: only an undo of a late one needs remembering.
    if (!late) return;
    sql.exec("INSERT OR IGNORE INTO released_tickets (ticket, at) VALUES (?, ?)", ticket, Date.now());
    await this.ctx.storage.setAlarm(Date.now() + RELEASED_TICKET_TTL_MS);
  }

  /**
   * Prunes by time: deletes only hits older than their window, so a take
   * that landed after the alarm was set is kept; re-arms for the rest. A
   * lapsed hit stays until its window ends too (it counts for nothing
   * meanwhile): its ticket must stay known, so a late confirm still counts
   * it and the same hold arriving again takes nothing.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const sql = this.table();
    sql.exec("DELETE FROM quota_hits WHERE at + window_ms <= ?", now);
    sql.exec("DELETE FROM named_hits WHERE at + window_ms <= ?", now);
    sql.exec("DELETE FROM released_tickets WHERE at + ? <= ?", RELEASED_TICKET_TTL_MS, now);
    const next = sql
      .exec<{ t: number | null }>(
        "SELECT min(t) AS t FROM (SELECT min(at + window_ms) AS t FROM quota_hits UNION ALL SELECT min(at + window_ms) FROM named_hits UNION ALL SELECT min(at) + ? FROM released_tickets)",
        RELEASED_TICKET_TTL_MS,
      )
      .one().t;
    if (next === null) await this.ctx.storage.deleteAll();
    else await this.ctx.storage.setAlarm(next);
  }

  /**
   * The hits table, created on first use. Each hit keeps its own window
   * (window_ms), which the alarm prunes by; the name is new with that column,
   * so rows an object wrote before it had one are never read as hits.
   * lapses_at came later as a column with no default: rows written before it
   * read as NULL, a hit of its whole window, which is what they were.
   */
  private table(): SqlStorage {
    const sql = this.ctx.storage.sql;
    sql.exec(
      "CREATE TABLE IF NOT EXISTS quota_hits (ticket TEXT PRIMARY KEY, at INTEGER NOT NULL, window_ms INTEGER NOT NULL, lapses_at INTEGER)",
    );
    if (sql.exec("SELECT 1 FROM pragma_table_info('quota_hits') WHERE name = 'lapses_at'").toArray().length === 0) {
      sql.exec("ALTER TABLE quota_hits ADD COLUMN lapses_at INTEGER");
    }
    sql.exec(
      "CREATE TABLE IF NOT EXISTS named_hits (counter TEXT NOT NULL, ticket TEXT PRIMARY KEY, at INTEGER NOT NULL, window_ms INTEGER NOT NULL)",
    );
    sql.exec("CREATE TABLE IF NOT EXISTS released_tickets (ticket TEXT PRIMARY KEY, at INTEGER NOT NULL)");
    return sql;
  }
}

/** The counter for one key, typed by the class's RPC surface (see limiterFor in phone-limiter.ts for why the cast). */
export function quotaCounterFor(namespace: DurableObjectNamespace<QuotaCounter>, key: string): QuotaCounterRpc {
  return namespace.getByName(key) as unknown as QuotaCounterRpc;
}
