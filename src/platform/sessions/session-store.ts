import { DurableObject } from "cloudflare:workers";
import type {
  CreateResult,
  IssuedToken,
  NewSession,
  PresentedToken,
  RefreshResult,
  SessionInfo,
  SessionLimits,
  SessionStoreRpc,
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
  created_at: number;
  last_used_at: number;
  expires_at: number;
  client: string | null;
}

/**
 * Every refresh-token session of one E.164 number, one instance per number
 * (`env.SESSION_STORE.idFromName(e164)`; the refresh token carries that id,
 * which is a keyed hash, never the number).
 *
 * Tokens are never stored: only keyed hashes made in the Worker, compared here
 * with crypto.subtle.timingSafeEqual, which is constant time and synchronous.
 * Every method reads, decides and writes with synchronous SQL and awaits
 * nothing before its decision is written, so concurrent refreshes of one token
 * are decided one after another: the first rotates, the others see the
 * immediately previous token inside the grace window and get the same successor.
 *
 * The successor's string is kept only while it may be handed back (the grace
 * window), then deleted (SECURITY.md, "Refresh tokens").
 */
export class SessionStore extends DurableObject<Env> implements SessionStoreRpc {
  async create(e164: string, session: NewSession, limits: SessionLimits): Promise<CreateResult> {
    const now = Date.now();
    const sql = this.table(now);
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
    // Beyond the cap, the least recently used sessions end.
    const count = sql.exec<{ n: number }>("SELECT count(*) AS n FROM sessions").one().n;
    const over = Math.max(0, count - limits.maxPerNumber);
    if (over > 0) {
      sql.exec(
        "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE id != ? ORDER BY last_used_at ASC, created_at ASC LIMIT ?)",
        session.sessionId,
        over,
      );
    }
    await this.schedule();
    return { e164, expiresAt, ended: over };
  }

  /**
   * One refresh, decided atomically. `successor` is the token the Worker made
   * ahead of time; it becomes current only if `presented` is the current token.
   */
  async refresh(presented: PresentedToken, successor: IssuedToken, limits: SessionLimits): Promise<RefreshResult> {
    const now = Date.now();
    const sql = this.table(now);
    const row = sql.exec<Row>("SELECT * FROM sessions WHERE id = ?", presented.sessionId).toArray()[0];
    // Unknown, ended or expired (pruned above), or not a token of this session at all: nothing changes.
    if (!row || !same(row.family_hash, presented.familyHash)) return { outcome: "invalid" };

    if (presented.counter === row.counter) {
      if (!same(row.current_hash, presented.secretHash) || successor.counter !== row.counter + 1) return { outcome: "invalid" };
      const expiresAt = Math.min(now + limits.idleMs, row.created_at + limits.maxAgeMs);
      const keep = limits.graceMs > 0;
      sql.exec(
        `UPDATE sessions SET counter = ?, current_hash = ?, previous_hash = ?, previous_until = ?, successor = ?,
           last_used_at = ?, expires_at = ? WHERE id = ?`,
        successor.counter,
        successor.secretHash,
        row.current_hash,
        now + limits.graceMs,
        keep ? successor.token : null,
        now,
        expiresAt,
        row.id,
      );
      await this.schedule();
      return { outcome: "rotated", e164: row.e164, refreshToken: successor.token, expiresAt };
    }

    if (presented.counter === row.counter - 1 && row.previous_hash !== null && same(row.previous_hash, presented.secretHash)) {
      if (row.successor !== null && row.previous_until !== null && now < row.previous_until) {
        // A retry or a race: the same successor again; the session was used just now.
        sql.exec("UPDATE sessions SET last_used_at = ? WHERE id = ?", now, row.id);
        return { outcome: "retried", e164: row.e164, refreshToken: row.successor, expiresAt: row.expires_at };
      }
      return await this.endForReuse(sql, row.id);
    }
    // An authentic older token of this session (its family secret matched): reuse.
    if (presented.counter < row.counter - 1) return await this.endForReuse(sql, row.id);
    return { outcome: "invalid" };
  }

  /** Ends one session if the token belongs to it (its family secret matches). True when it existed. */
  async logout(sessionId: string, familyHash: string): Promise<boolean> {
    const sql = this.table(Date.now());
    const row = sql.exec<Row>("SELECT family_hash FROM sessions WHERE id = ?", sessionId).toArray()[0];
    if (!row || !same(row.family_hash, familyHash)) return false;
    sql.exec("DELETE FROM sessions WHERE id = ?", sessionId);
    await this.schedule();
    return true;
  }

  /** Ends every session of the number. */
  async endAll(): Promise<number> {
    const sql = this.table(Date.now());
    const n = sql.exec<{ n: number }>("SELECT count(*) AS n FROM sessions").one().n;
    sql.exec("DELETE FROM sessions");
    await this.schedule();
    return n;
  }

  /** Ends one session by id. False when there is none with this id. */
  async end(sessionId: string): Promise<boolean> {
    const sql = this.table(Date.now());
    const cursor = sql.exec("DELETE FROM sessions WHERE id = ?", sessionId);
    await this.schedule();
    return cursor.rowsWritten > 0;
  }

  /** The live sessions, most recently used first. */
  async list(): Promise<SessionInfo[]> {
    const sql = this.table(Date.now());
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

  /** Deletes ended sessions and successors past their window; deletes everything once nothing is left. */
  override async alarm(): Promise<void> {
    const sql = this.table(Date.now());
    if (sql.exec<{ n: number }>("SELECT count(*) AS n FROM sessions").one().n === 0) {
      await this.ctx.storage.deleteAll();
      return;
    }
    await this.schedule();
  }

  private async endForReuse(sql: SqlStorage, id: string): Promise<RefreshResult> {
    sql.exec("DELETE FROM sessions WHERE id = ?", id);
    await this.schedule();
    return { outcome: "reused" };
  }

  /** The table, created on first use, with expired sessions and stale successors pruned. */
  private table(now: number): SqlStorage {
    const sql = this.ctx.storage.sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS sessions (
      id TEXT PRIMARY KEY, e164 TEXT NOT NULL, family_hash TEXT NOT NULL, counter INTEGER NOT NULL,
      current_hash TEXT NOT NULL, previous_hash TEXT, previous_until INTEGER, successor TEXT,
      created_at INTEGER NOT NULL, last_used_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, client TEXT)`);
    sql.exec("DELETE FROM sessions WHERE expires_at <= ?", now);
    sql.exec("UPDATE sessions SET successor = NULL WHERE successor IS NOT NULL AND previous_until <= ?", now);
    return sql;
  }

  /**
   * The alarm fires at the next expiry or end of a grace window, or at once
   * when no session is left (it then deletes the object's storage).
   */
  private async schedule(): Promise<void> {
    const next = this.ctx.storage.sql
      .exec<{ at: number | null }>(
        "SELECT min(at) AS at FROM (SELECT expires_at AS at FROM sessions UNION ALL SELECT previous_until FROM sessions WHERE successor IS NOT NULL)",
      )
      .one().at;
    await this.ctx.storage.setAlarm(next ?? Date.now());
  }
}

const encoder = new TextEncoder();

/** Constant-time equality of two hashes (their length is public: every hash has the same one). */
function same(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  return x.byteLength === y.byteLength && crypto.subtle.timingSafeEqual(x, y);
}
