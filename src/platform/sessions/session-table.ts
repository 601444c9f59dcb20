/**
 * Platform layer: every refresh-token session of one number, in the SQLite
 * of the Durable Object that hosts them: the number's PhoneLimiter (since
 * the verify that creates a session is the call that uses its code up), and
 * SessionStore for the sessions made before they moved there (`rt1` tokens).
 *
 * Tokens are never stored: only keyed hashes made in the Worker, compared here
 * with crypto.subtle.timingSafeEqual, which is constant time and synchronous.
 * Every method reads, decides and writes with synchronous SQL and awaits
 * nothing, so a host that calls one and then arms its alarm decides
 * concurrent refreshes of one token one after another: the first rotates, the
 * others see the immediately previous token inside the grace window and get
 * the same successor.
 *
 * The successor's string is kept only while it may be handed back (the grace
 * window), then deleted (SECURITY.md, "Refresh tokens"): the host's alarm
 * must fire at `nextAlarm()` for that.
 */
import { HOUR_MS } from "../../kernel/time";
import type {
  CreateResult,
  IssuedToken,
  NewSession,
  PresentedToken,
  RefreshResult,
  SessionInfo,
  SessionLimits,
} from "./session-types";

interface Row extends Record<string, SqlStorageValue> {
  id: string;
  e164: string;
  family_hash: string;
  counter: number;
  current_hash: string;
  previous_hash: string | null;
  previous_until: number | null;
  successor: string | null;
  /** 1 once the successor was handed to a retry: then a 503's undo must not take it back. */
  successor_delivered: number;
  created_at: number;
  last_used_at: number;
  expires_at: number;
  client: string | null;
}

/** Sessions that expired in a call (pruned by it): the host tells the app's backend. Must not await. */
export type SessionsExpired = (sessions: readonly { id: string; e164: string }[]) => void;

/**
 * The sessions' tables and their rules. `changed` says, after each method,
 * whether the host must arm its alarm again (nextAlarm moved).
 */
export class SessionTable {
  /** Whether the last call changed what nextAlarm answers; the host re-arms when it did. */
  changed = false;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly expired: SessionsExpired,
  ) {}

  create(e164: string, session: NewSession, limits: SessionLimits): CreateResult {
    const now = Date.now();
    const sql = this.table(now);
    // Ended (given up by the Worker) before this call arrived: create nothing, end nobody.
    if (this.givenBack(sql, session.sessionId)) return this.done({ e164, expiresAt: now, ended: 0 }, false);
    const expiresAt = Math.min(now + limits.idleMs, now + limits.maxAgeMs);
    sql.exec(
      `INSERT INTO sessions (id, e164, family_hash, counter, current_hash, previous_hash, previous_until, successor,
         created_at, last_used_at, expires_at, client) VALUES (?, ?, ?, ?, ?, NULL, NULL, NULL, ?, ?, ?, ?)`,
      session.sessionId,
      e164,
      session.familyHash,
      session.first.counter,
      session.first.secretHash,
      now,
      now,
      expiresAt,
      session.client,
    );
    // Beyond the cap, the least recently used sessions end. Each is kept aside, marked with the new session's
    // id, so an undo of this create (its answer came too late) can put it back exactly.
    const count = sql.exec<{ n: number }>("SELECT count(*) AS n FROM sessions").one().n;
    const over = Math.max(0, count - limits.maxPerNumber);
    if (over > 0) {
      const victims = `SELECT id FROM sessions WHERE id != ? ORDER BY last_used_at ASC, created_at ASC LIMIT ?`;
      // The copy keeps no successor's string (EVICTED_COPY).
      sql.exec(
        `INSERT INTO evicted (evicted_by, evicted_at, ${COLUMNS}) SELECT ?, ?, ${EVICTED_COPY} FROM sessions WHERE id IN (${victims})`,
        session.sessionId,
        now,
        session.sessionId,
        over,
      );
      sql.exec(`DELETE FROM sessions WHERE id IN (${victims})`, session.sessionId, over);
    }
    return this.done({ e164, expiresAt, ended: over }, true);
  }

  /**
   * One refresh, decided atomically. `successor` is the token the Worker made
   * ahead of time; it becomes current only if `presented` is the current token.
   */
  refresh(presented: PresentedToken, successor: IssuedToken, limits: SessionLimits): RefreshResult {
    const now = Date.now();
    const sql = this.table(now);
    const row = sql.exec<Row>("SELECT * FROM sessions WHERE id = ?", presented.sessionId).toArray()[0];
    // Unknown, ended or expired (pruned above), or not a token of this session at all: nothing changes.
    if (!row) return this.done({ outcome: "invalid", gone: true }, false);
    if (!same(row.family_hash, presented.familyHash)) return this.done({ outcome: "invalid" }, false);
    // A rotation the Worker gave up (it answered 503) before this call arrived: nothing changes.
    if (this.givenBack(sql, successor.secretHash)) return this.done({ outcome: "invalid" }, false);

    if (presented.counter === row.counter) {
      if (!same(row.current_hash, presented.secretHash) || successor.counter !== row.counter + 1)
        return this.done({ outcome: "invalid" }, false);
      const expiresAt = Math.min(now + limits.idleMs, row.created_at + limits.maxAgeMs);
      const keep = limits.graceMs > 0;
      sql.exec(
        `UPDATE sessions SET counter = ?, current_hash = ?, previous_hash = ?, previous_until = ?, successor = ?,
           successor_delivered = 0, last_used_at = ?, expires_at = ? WHERE id = ?`,
        successor.counter,
        successor.secretHash,
        row.current_hash,
        now + limits.graceMs,
        keep ? successor.token : null,
        now,
        expiresAt,
        row.id,
      );
      return this.done({ outcome: "rotated", e164: row.e164, refreshToken: successor.token, expiresAt }, true);
    }

    if (
      presented.counter === row.counter - 1 &&
      row.previous_hash !== null &&
      same(row.previous_hash, presented.secretHash)
    ) {
      if (row.successor !== null && row.previous_until !== null && now < row.previous_until) {
        // A retry or a race: the same successor again; the session was used just now.
        sql.exec("UPDATE sessions SET last_used_at = ?, successor_delivered = 1 WHERE id = ?", now, row.id);
        return this.done(
          { outcome: "retried", e164: row.e164, refreshToken: row.successor, expiresAt: row.expires_at },
          false,
        );
      }
      return this.endForReuse(sql, row);
    }
    // An authentic older token of this session (its family secret matched): reuse.
    if (presented.counter < row.counter - 1) return this.endForReuse(sql, row);
    return this.done({ outcome: "invalid" }, false);
  }

  /**
   * Takes back a rotation whose answer the client never got (the Worker
   * answered 503): the presented token is current again, so the client's
   * retry rotates it, however late. Not when a retry already received the
   * successor. Leaves a tombstone, so a rotation arriving later does nothing.
   */
  undoRefresh(sessionId: string, successorHash: string): void {
    const now = Date.now();
    const sql = this.table(now);
    this.changed = false;
    sql.exec("INSERT OR IGNORE INTO given_back (key, at) VALUES (?, ?)", successorHash, now);
    const row = sql.exec<Row>("SELECT * FROM sessions WHERE id = ?", sessionId).toArray()[0];
    if (!row || row.previous_hash === null || row.successor_delivered === 1 || !same(row.current_hash, successorHash))
      return;
    sql.exec(
      `UPDATE sessions SET counter = counter - 1, current_hash = previous_hash, previous_hash = NULL, previous_until = NULL,
         successor = NULL, successor_delivered = 0 WHERE id = ?`,
      sessionId,
    );
  }

  /**
   * Takes back a create whose answer the client never got (the Worker
   * answered 503): ends the new session and puts back, exactly as they were,
   * the sessions that create evicted, so their refresh tokens work again.
   * Leaves a tombstone, so a create of this id arriving later does nothing.
   * Idempotent: a second undo finds nothing left to take back.
   */
  undoCreate(sessionId: string): void {
    const now = Date.now();
    const sql = this.table(now);
    sql.exec("INSERT OR IGNORE INTO given_back (key, at) VALUES (?, ?)", sessionId, now);
    sql.exec("DELETE FROM sessions WHERE id = ?", sessionId);
    // The created session's slot is free again, so the number is back under its cap.
    sql.exec(
      `INSERT OR IGNORE INTO sessions (${COLUMNS}) SELECT ${COLUMNS} FROM evicted WHERE evicted_by = ? AND expires_at > ?`,
      sessionId,
      now,
    );
    sql.exec("DELETE FROM evicted WHERE evicted_by = ?", sessionId);
    this.changed = true;
  }

  /**
   * Ends one session if the token belongs to it (its family secret matches):
   * its number, or null when none ended. A session a late create had evicted
   * ends too (its copy), so that create's undo cannot bring it back.
   */
  logout(sessionId: string, familyHash: string): string | null {
    const now = Date.now();
    const sql = this.table(now);
    const row =
      sql.exec<Row>("SELECT family_hash, e164 FROM sessions WHERE id = ?", sessionId).toArray()[0] ??
      sql.exec<Row>("SELECT family_hash, e164 FROM evicted WHERE id = ?", sessionId).toArray()[0];
    if (!row || !same(row.family_hash, familyHash)) return this.done(null, false);
    sql.exec("DELETE FROM sessions WHERE id = ?", sessionId);
    sql.exec("DELETE FROM evicted WHERE id = ?", sessionId);
    sql.exec("INSERT OR IGNORE INTO given_back (key, at) VALUES (?, ?)", sessionId, now);
    return this.done(row.e164, true);
  }

  /**
   * Ends every session of the number: the ids that ended; null when the
   * caller's own session has ended (with `caller` null, nobody is checked).
   * Evicted copies end too: signing out everywhere is never undone by a late
   * create's undo.
   */
  endAll(caller: string | null): string[] | null {
    const sql = this.table(Date.now());
    if (caller !== null && !this.exists(sql, caller)) return this.done(null, false);
    const ids = sql
      .exec<{ id: string }>("SELECT id FROM sessions")
      .toArray()
      .map((r) => r.id);
    sql.exec("DELETE FROM sessions");
    sql.exec("DELETE FROM evicted");
    return this.done(ids, true);
  }

  /**
   * Ends every session of the number but the caller's, in one step that
   * checks the caller's is live (null when it has ended): the first step of
   * signing out everywhere, so no other session can end the caller's in the
   * middle of it. Evicted copies end too.
   */
  endOthers(caller: string): string[] | null {
    const sql = this.table(Date.now());
    if (!this.exists(sql, caller)) return this.done(null, false);
    const ids = sql
      .exec<{ id: string }>("SELECT id FROM sessions WHERE id != ?", caller)
      .toArray()
      .map((r) => r.id);
    sql.exec("DELETE FROM sessions WHERE id != ?", caller);
    sql.exec("DELETE FROM evicted");
    return this.done(ids, true);
  }

  /**
   * Ends one session by id, for `caller` (the session of the access token
   * asking; null: nobody is checked): "caller_ended" when that session has
   * ended, "not_found" when there is no session with this id. Leaves a
   * tombstone, so a create of this id arriving later (one the Worker gave
   * up) does nothing.
   */
  end(sessionId: string, caller: string | null): "ended" | "not_found" | "caller_ended" {
    const now = Date.now();
    const sql = this.table(now);
    if (caller !== null && !this.exists(sql, caller)) return this.done("caller_ended", false);
    const cursor = sql.exec("DELETE FROM sessions WHERE id = ?", sessionId);
    // Ended while a late create had evicted it: an undo of that create must not bring it back.
    sql.exec("DELETE FROM evicted WHERE id = ?", sessionId);
    sql.exec("INSERT OR IGNORE INTO given_back (key, at) VALUES (?, ?)", sessionId, now);
    return this.done(cursor.rowsWritten > 0 ? "ended" : "not_found", true);
  }

  /** The live sessions, most recently used first; null when the caller's own session has ended (null caller: none checked). */
  list(caller: string | null): SessionInfo[] | null {
    const sql = this.table(Date.now());
    this.changed = false;
    if (caller !== null && !this.exists(sql, caller)) return null;
    return sql
      .exec<Row>("SELECT * FROM sessions ORDER BY last_used_at DESC, created_at DESC")
      .toArray()
      .map((r) => ({
        id: r.id,
        created_at: r.created_at,
        last_used_at: r.last_used_at,
        expires_at: r.expires_at,
        client: r.client,
      }));
  }

  /** Whether the session is live here. */
  has(sessionId: string): boolean {
    this.changed = false;
    return this.exists(this.table(Date.now()), sessionId);
  }

  count(): number {
    this.changed = false;
    return this.table(Date.now()).exec<{ n: number }>("SELECT count(*) AS n FROM sessions").one().n;
  }

  /** Prunes what has aged out (expired sessions are reported); whether any live session is left. */
  prune(): boolean {
    this.changed = false;
    return this.table(Date.now()).exec<{ n: number }>("SELECT count(*) AS n FROM sessions").one().n > 0;
  }

  /**
   * When the host's alarm must fire for the sessions: the next expiry or end
   * of a grace window (a successor's string to delete); null when there is
   * no session. Reads nothing when the tables were never made.
   */
  nextAlarm(): number | null {
    const sql = this.storage.sql;
    if (!this.made(sql)) return null;
    return sql
      .exec<{ at: number | null }>(
        "SELECT min(at) AS at FROM (SELECT expires_at AS at FROM sessions UNION ALL SELECT previous_until FROM sessions WHERE successor IS NOT NULL)",
      )
      .one().at;
  }

  private done<T>(result: T, changed: boolean): T {
    this.changed = changed;
    return result;
  }

  private exists(sql: SqlStorage, sessionId: string): boolean {
    return sql.exec("SELECT 1 FROM sessions WHERE id = ?", sessionId).toArray().length > 0;
  }

  private givenBack(sql: SqlStorage, key: string): boolean {
    return sql.exec("SELECT 1 FROM given_back WHERE key = ?", key).toArray().length > 0;
  }

  private endForReuse(sql: SqlStorage, row: Row): RefreshResult {
    sql.exec("DELETE FROM sessions WHERE id = ?", row.id);
    return this.done({ outcome: "reused", e164: row.e164 }, true);
  }

  private made(sql: SqlStorage): boolean {
    return sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sessions'").toArray().length > 0;
  }

  /** The tables, created on first use, with expired sessions and stale successors pruned. */
  private table(now: number): SqlStorage {
    const sql = this.storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS sessions (
      id TEXT PRIMARY KEY, e164 TEXT NOT NULL, family_hash TEXT NOT NULL, counter INTEGER NOT NULL,
      current_hash TEXT NOT NULL, previous_hash TEXT, previous_until INTEGER, successor TEXT,
      successor_delivered INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL, last_used_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, client TEXT)`);
    // Ids and hashes the Worker gave up (a 503), remembered for an hour so a late call does nothing.
    sql.exec("CREATE TABLE IF NOT EXISTS given_back (key TEXT PRIMARY KEY, at INTEGER NOT NULL)");
    // Sessions a create evicted, kept as long as that create may still be taken back (as long as a tombstone).
    sql.exec(`CREATE TABLE IF NOT EXISTS evicted (evicted_by TEXT NOT NULL, evicted_at INTEGER NOT NULL,
      id TEXT NOT NULL, e164 TEXT NOT NULL, family_hash TEXT NOT NULL, counter INTEGER NOT NULL,
      current_hash TEXT NOT NULL, previous_hash TEXT, previous_until INTEGER, successor TEXT,
      successor_delivered INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL, last_used_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, client TEXT)`);
    sql.exec("DELETE FROM given_back WHERE at <= ?", now - GIVEN_BACK_TTL_MS);
    sql.exec("DELETE FROM evicted WHERE evicted_at <= ? OR expires_at <= ?", now - GIVEN_BACK_TTL_MS, now);
    const expired = sql
      .exec<{ id: string; e164: string }>("SELECT id, e164 FROM sessions WHERE expires_at <= ?", now)
      .toArray();
    if (expired.length > 0) {
      sql.exec("DELETE FROM sessions WHERE expires_at <= ?", now);
      this.expired(expired);
    }
    // A successor's string is kept only for its grace window, in an evicted copy too.
    for (const table of ["sessions", "evicted"]) {
      sql.exec(`UPDATE ${table} SET successor = NULL WHERE successor IS NOT NULL AND previous_until <= ?`, now);
    }
    return sql;
  }
}

const GIVEN_BACK_TTL_MS = HOUR_MS;

/** The columns of a session row, in one order, for copying rows between `sessions` and `evicted`. */
const COLUMNS =
  "id, e164, family_hash, counter, current_hash, previous_hash, previous_until, successor, successor_delivered, " +
  "created_at, last_used_at, expires_at, client";

/**
 * COLUMNS as an evicted copy takes them: without the previous token and the
 * successor's string. A restored copy answers a retry of its previous token
 * as unknown (401), never as reuse, and keeps no successor that nothing would
 * delete at the end of its grace window.
 */
const EVICTED_COPY = COLUMNS.replace(
  "previous_hash, previous_until, successor, successor_delivered",
  "NULL, NULL, NULL, 0",
);

const encoder = new TextEncoder();

/** Constant-time equality of two hashes (their length is public: every hash has the same one). */
function same(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  return x.byteLength === y.byteLength && crypto.subtle.timingSafeEqual(x, y);
}
