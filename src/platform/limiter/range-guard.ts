/**
 * Platform layer: the fraud guard's Durable Object (src/domain/guards/range-guard.ts
 * has the rules). One RangeGuard per number range (`range:<range>`, the E.164
 * number without its last FRAUD_RANGE_DROP_DIGITS digits), so a range's counts
 * live together and no object sees more than one range's sends; one more,
 * `index`, lists the active blocks for the operator, written only when a block
 * starts or is lifted.
 */
import { DurableObject } from "cloudflare:workers";
import { DAY_MS, HOUR_MS } from "../../kernel/time";

/** How long a sent, unverified code counts against its range. */
export const RANGE_WINDOW_MS = HOUR_MS;
/** `known_until` of an entry whose code can never be verified: it is not asked about again. */
const KNOWN_FOR_GOOD = Number.MAX_SAFE_INTEGER;
/**
 * Failed lookups (each asked at least `settleMs` after the last one counted) after which a
 * settled entry still unknown counts as unverified: it can start a block, which the operator sees.
 * Only for one number of the range at a time (the one with the most such entries): other numbers'
 * entries stay unknown, so failing lookups cannot turn other people's verified codes into a block.
 */
export const LOOKUP_FAILURES_TO_COUNT = 2;
/** How long a given-back entry is remembered, so a check with its id that arrives late counts nothing. */
const RELEASED_TTL_MS = HOUR_MS;
/** The longest block, however often the range was blocked within the day. */
export const MAX_BLOCK_MS = DAY_MS;

/** A range's block as the operator sees it (times in ms since the epoch). */
export interface RangeBlock {
  range: string;
  since: number;
  until: number;
  /** The range's unverified codes when the block started. */
  unverified: number;
  /** Blocks of the range within the 24 hours up to this one's start, this one included. */
  timesToday: number;
}

export interface RangeCheck {
  /** The range, as the object is named: kept in the block the operator lists. */
  range: string;
  /** The code the send makes (its verification_id): the entry's key, so the check is idempotent. */
  codeId: string;
  maxUnverified: number;
  blockMs: number;
  /**
   * false for a send that never counts (a test number): it adds no entry, but
   * is refused (and starts a block) exactly where any other number of the
   * range would be, so a scan cannot tell it apart.
   */
  count: boolean;
  /**
   * The longest a send's outcome can take after its check (the gateway's
   * deadline and the storage calls around it): a held entry older than this
   * is taken for sent, since its `sent` or `release` call was lost.
   */
  settleMs: number;
  /**
   * The number the code was sent to, kept with its entry so that, at the
   * threshold, the Worker can ask that number's PhoneLimiter whether the
   * code was verified. Absent (rows from before this column): the entry is
   * never looked up and counts as unverified.
   */
  e164?: string;
  /**
   * Whether the check may answer `confirm`: a send's first check. Not a
   * send's second check, nor a fallback message's (sent from inside a
   * PhoneLimiter, which calls no other number's object): there, entries
   * not looked up count towards the threshold (the send is refused) but
   * start no block, since they may all have been verified (unless their
   * lookup failed LOOKUP_FAILURES_TO_COUNT times and they are of the one number that may: then they
   * count as unverified).
   */
  confirm?: boolean;
  /** A second check: what the Worker learnt of the entries a `confirm` named (those it could not learn are left out). */
  lookedUp?: LookedUp;
}

/** What the Worker learnt of a range's entries from their numbers' PhoneLimiters (codeUses). */
export interface LookedUp {
  /** Every entry the Worker asked about; one not answered (its number's call failed) is unknown again, whatever was known of it. */
  asked: string[];
  /** When the range named them (the `confirm`'s `at`): the time a failure below counts at. */
  askedAt: number;
  /**
   * Entries whose number's call failed or was late: unknown, not asked again for `settleMs`
   * (from `askedAt`); once LOOKUP_FAILURES_TO_COUNT such failures, each asked at least
   * `settleMs` after the last one counted, the entry counts as unverified, if its number is the
   * range's one with the most such entries (the others' stay unknown).
   */
  failed: string[];
  /** Entries whose code was verified: they stop counting. */
  verified: string[];
  /**
   * Entries whose code was not verified, each with how long that answer
   * holds: a live code's expiry (it may still be verified, so it is asked
   * again after that), or null when it never can be (then it is not asked again,
   * unless the entry is still in flight: its code may not be reserved yet).
   */
  unverified: { codeId: string; until: number | null }[];
}

/** An entry a `confirm` asks the Worker about: its id and the number its code was sent to. */
export interface RangeEntry {
  codeId: string;
  e164: string;
}

/**
 * `counted`: the send may go out. `blocked`: the range is blocked (now, or
 * already). `busy`: the range is at its threshold only with sends still in
 * flight, which may yet be refused or fail and be given back; this send is
 * refused but no block starts (until `retryAt` at the latest, when the oldest
 * of them is taken for sent). `confirm`: the range is at its threshold, and
 * these entries were never looked up or their answer has run out (a live
 * code's answer also before a block it would help start): nothing was written; the Worker asks their numbers' PhoneLimiters which codes were
 * verified and checks again with `lookedUp`.
 */
export type RangeResult =
  | { outcome: "counted" }
  | { outcome: "blocked"; block: RangeBlock; startedNow: boolean }
  | {
      outcome: "busy";
      retryAt: number;
      /** Settled entries of unknown fate that alone keep the range from a block (0: sends in flight do). */
      unknown: number;
      /** Whether this answer is the first of the range's refusals held only by unknown entries (logged once). */
      startedRefusing: boolean;
    }
  | { outcome: "confirm"; entries: RangeEntry[]; at: number };

/** The RangeGuard's RPC surface; the class implements it and the Worker's stub is typed by it. */
export interface RangeGuardRpc {
  /**
   * One atomic step: refuses while the range is blocked; else holds the
   * send as unverified unless `maxUnverified` are already counted in the
   * last hour. Then, when that many were *sent* (held ones so old their
   * outcome is known: a send refused or failed cleanly gave its entry back), it starts a block (FRAUD_BLOCK_MINUTES,
   * doubled for each earlier block within 24 hours, at most 24 hours) and
   * refuses; when some of them are still in flight, it refuses without a
   * block (`busy`), so sends that never go out (refused by the number's
   * limits, refused by the gateway) cannot start one. Counting starts afresh
   * after a block. A verified code is not reported to the range: at the
   * threshold, before refusing, the check answers `confirm` with the counted
   * entries whose fate it does not know and, when it would start a block,
   * the settled ones whose code was live when last asked (only with
   * `confirm`); the second
   * check, with `lookedUp`, drops the verified ones, remembers the others as
   * unverified, and decides in the same step. Entries still unknown (their
   * lookup failed, they arrived meanwhile, or the check could not ask)
   * count towards the threshold, so the send is refused, but start no
   * block: only entries known unverified (or with no number) do, and
   * entries whose lookup failed LOOKUP_FAILURES_TO_COUNT times, at least
   * `settleMs` apart, of one number only (the one with the most such
   * entries). An entry whose lookup failed is not named again for
   * `settleMs`.
   */
  check(request: RangeCheck): Promise<RangeResult>;
  /** Gives back the send's entry (its send was refused elsewhere or failed cleanly); `late` as in QuotaCounter. */
  release(codeId: string, late?: boolean): Promise<void>;
  /** The active block, or null. */
  block(): Promise<RangeBlock | null>;
  /** Ends the block and forgets everything (counts, earlier blocks): the range starts afresh. Whether a block was active. */
  lift(): Promise<boolean>;
  /** On the `index` object: lists a block (until its end). */
  noteBlock(block: RangeBlock): Promise<void>;
  /** On the `index` object: takes a range off the list. */
  dropBlock(range: string): Promise<void>;
  /** On the `index` object: the active blocks, the longest-running first. */
  listBlocks(): Promise<RangeBlock[]>;
}

type BlockRow = { range: string; since: number; until: number; unverified: number; times_today: number };

const asBlock = (r: BlockRow): RangeBlock => ({
  range: r.range,
  since: r.since,
  until: r.until,
  unverified: r.unverified,
  timesToday: r.times_today,
});

/** The separator of a fallback message's entry id from its code's: `<codeId>>n` (verified with its code). */
export const MESSAGE_ID_SEPARATOR = ">";

/** The code an entry stands for: its own id, or a fallback message's code (`<codeId>>n`). */
export const codeOfEntry = (entryId: string): string => entryId.split(MESSAGE_ID_SEPARATOR, 1)[0] ?? entryId;

/**
 * Of the settled entries whose lookup failed LOOKUP_FAILURES_TO_COUNT times, the number with the most (the oldest
 * such entry breaks a tie, then the number): the one number whose entries may count as unverified on failed
 * lookups alone. Null when there is none.
 */
function mostGivenUp(
  unknown: readonly { e164: string; at: number; lookup_failures: number }[],
  settledBy: number,
): string | null {
  const byNumber = new Map<string, { n: number; oldest: number }>();
  for (const e of unknown) {
    if (e.at > settledBy || e.lookup_failures < LOOKUP_FAILURES_TO_COUNT) continue;
    const seen = byNumber.get(e.e164);
    byNumber.set(e.e164, { n: (seen?.n ?? 0) + 1, oldest: Math.min(seen?.oldest ?? e.at, e.at) });
  }
  let best: { e164: string; n: number; oldest: number } | null = null;
  for (const [e164, { n, oldest }] of byNumber) {
    const better =
      best === null ||
      n > best.n ||
      (n === best.n && (oldest < best.oldest || (oldest === best.oldest && e164 < best.e164)));
    if (better) best = { e164, n, oldest };
  }
  return best?.e164 ?? null;
}

/**
 * Rows in SQLite: `held` (each counted send by id and the time of its check,
 * in flight until settled; with its number, `e164`, and `known_until`: until
 * when it is known unverified, NULL while never looked up, KNOWN_FOR_GOOD
 * once its code can never be verified; `lookup_failures`, the failed lookups
 * counted since its last answer, and `failed_at`, when the last counted one
 * was asked), `refusing` (one row while the range refuses only on unknown
 * entries, so that is logged once), `sends` (from an
 * earlier version, which marked sends that went out; no longer written), `released`
 * (ids given back), `blocks_started` (when the range was blocked, for the
 * doubling), `block` (the current block, one row) and, on the index object,
 * `listed` (the active blocks of every range). `check` prunes, reads and
 * writes with synchronous SQL and no await in between, so concurrent sends
 * are decided one after another and the threshold is exact.
 */
export class RangeGuard extends DurableObject<Env> implements RangeGuardRpc {
  async check(request: RangeCheck): Promise<RangeResult> {
    const now = Date.now();
    const sql = this.tables();
    this.prune(sql, now);
    if (request.lookedUp) this.learn(sql, request.lookedUp, now, request.settleMs);
    const current = sql.exec<BlockRow>("SELECT * FROM block WHERE until > ?", now).toArray()[0];
    if (current) return { outcome: "blocked", block: asBlock(current), startedNow: false };
    const seen = sql.exec(
      "SELECT 1 FROM sends WHERE code_id = ? UNION ALL SELECT 1 FROM held WHERE code_id = ? UNION ALL SELECT 1 FROM released WHERE code_id = ?",
      request.codeId,
      request.codeId,
      request.codeId,
    );
    // Counted already (a retry), or given back before this call arrived: count nothing more.
    if (request.count && seen.toArray().length > 0) return { outcome: "counted" };
    const counts = sql
      .exec<{ sent: number; held: number; settled: number; oldest: number | null }>(
        `SELECT (SELECT count(*) FROM sends) AS sent, (SELECT count(*) FROM held) AS held,
          (SELECT count(*) FROM held WHERE at <= ?) AS settled, (SELECT min(at) FROM held WHERE at > ?) AS oldest`,
        now - request.settleMs,
        now - request.settleMs,
      )
      .one();
    if (counts.sent + counts.held < request.maxUnverified) {
      sql.exec("DELETE FROM refusing");
      if (!request.count) return { outcome: "counted" };
      sql.exec(
        "INSERT INTO held (code_id, at, e164, known_until) VALUES (?, ?, ?, NULL)",
        request.codeId,
        now,
        request.e164 ?? null,
      );
      await this.armAlarm(now + RANGE_WINDOW_MS);
      return { outcome: "counted" };
    }
    // From here a send that never counts (a test number) is answered as any other number of the range would be.
    // At the threshold: entries never looked up (or whose answer ran out) may have been verified.
    const unknown = sql
      .exec<{ code_id: string; e164: string; at: number; lookup_failures: number; failed_at: number | null }>(
        "SELECT code_id, e164, at, lookup_failures, failed_at FROM held WHERE e164 IS NOT NULL AND (known_until IS NULL OR known_until <= ?)",
        now,
      )
      .toArray();
    const settledBy = now - request.settleMs;
    // An entry whose lookup failed too often (its number's object kept failing) counts as unverified, but only for
    // one number of the range (the one with the most such entries): an attacker who keeps other people's objects
    // failing must not turn their verified sign-ins into unverified entries. Other numbers' such entries stay unknown.
    const givenUpNumber = mostGivenUp(unknown, settledBy);
    const givenUp = (e: (typeof unknown)[number]) =>
      e.lookup_failures >= LOOKUP_FAILURES_TO_COUNT && e.e164 === givenUpNumber;
    // An entry whose lookup failed is not named again for settleMs: a refused flood does not ask its number each time.
    const resting = (e: (typeof unknown)[number]) => e.failed_at !== null && e.failed_at > settledBy;
    if (request.confirm === true) {
      const askable = unknown.filter((e) => !resting(e));
      // Settled entries this round cannot learn about, and which stay unknown: no block can count them.
      const stayUnknown = unknown.filter((e) => e.at <= settledBy && resting(e) && !givenUp(e)).length;
      // Before a block, also the settled entries whose code was still live when asked: it may have been verified since.
      const blockPossible = counts.sent + counts.settled - stayUnknown >= request.maxUnverified;
      const live = blockPossible
        ? sql
            .exec<{ code_id: string; e164: string; at: number }>(
              "SELECT code_id, e164, at FROM held WHERE e164 IS NOT NULL AND known_until > ? AND known_until < ? AND at <= ?",
              now,
              KNOWN_FOR_GOOD,
              settledBy,
            )
            .toArray()
        : [];
      // At most the threshold's worth (held has no more, unless the setting was lowered within the hour).
      const ask = [...askable, ...live].slice(0, request.maxUnverified);
      if (ask.length > 0) {
        return { outcome: "confirm", entries: ask.map((e) => ({ codeId: e.code_id, e164: e.e164 })), at: now };
      }
    }
    // Entries whose fate is unknown (a lookup failed, or none could be made) refuse this send but start no block:
    // only codes known to be unverified do, so an outage of numbers' objects cannot block a range on one failure.
    // An entry whose lookup failed LOOKUP_FAILURES_TO_COUNT times, settleMs apart, counts as unverified if it is of
    // givenUpNumber: one number whose object keeps failing cannot hold its range refused, unblocked and unlisted, for
    // the rest of the hour, while failing lookups gain an attacker at most one number's entries towards a block.
    const undecided = unknown.filter((e) => e.at <= settledBy && !givenUp(e)).length;
    const unverified = counts.sent + counts.settled - undecided;
    // At the threshold only with sends still in flight or entries unknown: refused, but no block.
    if (unverified < request.maxUnverified) {
      // Held from a block only by unknown entries (the settled ones alone reach the threshold): logged once.
      const refusing = counts.sent + counts.settled >= request.maxUnverified ? undecided : 0;
      let startedRefusing = false;
      if (refusing === 0) sql.exec("DELETE FROM refusing");
      else if (sql.exec("SELECT 1 FROM refusing").toArray().length === 0) {
        sql.exec("INSERT INTO refusing (since) VALUES (?)", now);
        startedRefusing = true;
      }
      return {
        outcome: "busy",
        retryAt: (counts.oldest ?? now) + request.settleMs,
        unknown: refusing,
        startedRefusing,
      };
    }
    const before = sql.exec<{ n: number }>("SELECT count(*) AS n FROM blocks_started").one().n;
    const timesToday = before + 1;
    const until = now + Math.min(request.blockMs * 2 ** before, MAX_BLOCK_MS);
    const block: RangeBlock = { range: request.range, since: now, until, unverified, timesToday };
    sql.exec("INSERT INTO blocks_started (at) VALUES (?)", now);
    sql.exec("DELETE FROM block");
    sql.exec(
      "INSERT INTO block (range, since, until, unverified, times_today) VALUES (?, ?, ?, ?, ?)",
      block.range,
      block.since,
      block.until,
      block.unverified,
      block.timesToday,
    );
    // The block stands whatever is verified meanwhile; after it, the range counts afresh.
    sql.exec("DELETE FROM sends");
    sql.exec("DELETE FROM held");
    sql.exec("DELETE FROM refusing");
    await this.armAlarm(until);
    return { outcome: "blocked", block, startedNow: true };
  }

  async release(codeId: string, late = true): Promise<void> {
    const sql = this.tables();
    sql.exec("DELETE FROM sends WHERE code_id = ?", codeId);
    sql.exec("DELETE FROM held WHERE code_id = ?", codeId);
    if (!late) return;
    sql.exec("INSERT OR IGNORE INTO released (code_id, at) VALUES (?, ?)", codeId, Date.now());
    await this.armAlarm(Date.now() + RELEASED_TTL_MS);
  }

  async block(): Promise<RangeBlock | null> {
    const row = this.tables().exec<BlockRow>("SELECT * FROM block WHERE until > ?", Date.now()).toArray()[0];
    return row ? asBlock(row) : null;
  }

  async lift(): Promise<boolean> {
    const active = (await this.block()) !== null;
    const sql = this.tables();
    // Everything but the given-back ids: a check that arrives after its own release still counts nothing.
    for (const table of ["sends", "held", "blocks_started", "block", "refusing"]) sql.exec(`DELETE FROM ${table}`);
    return active;
  }

  async noteBlock(block: RangeBlock): Promise<void> {
    this.tables().exec(
      "INSERT OR REPLACE INTO listed (range, since, until, unverified, times_today) VALUES (?, ?, ?, ?, ?)",
      block.range,
      block.since,
      block.until,
      block.unverified,
      block.timesToday,
    );
    await this.armAlarm(block.until);
  }

  async dropBlock(range: string): Promise<void> {
    this.tables().exec("DELETE FROM listed WHERE range = ?", range);
  }

  async listBlocks(): Promise<RangeBlock[]> {
    return this.tables()
      .exec<BlockRow>("SELECT * FROM listed WHERE until > ? ORDER BY since ASC", Date.now())
      .toArray()
      .map(asBlock);
  }

  /** Prunes by time, then re-arms for the next row to age out, or deletes everything when none is left. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const sql = this.tables();
    this.prune(sql, now);
    const next = sql
      .exec<{ t: number | null }>(
        `SELECT min(t) AS t FROM (
          SELECT min(at) + ? AS t FROM sends UNION ALL SELECT min(at) + ? FROM held UNION ALL SELECT min(at) + ? FROM released
          UNION ALL SELECT min(at) + ? FROM blocks_started UNION ALL SELECT min(until) FROM block
          UNION ALL SELECT min(until) FROM listed)`,
        RANGE_WINDOW_MS,
        RANGE_WINDOW_MS,
        RELEASED_TTL_MS,
        DAY_MS,
      )
      .one().t;
    if (next === null) {
      await this.ctx.storage.deleteAll();
      this.migrated = false;
    } else await this.ctx.storage.setAlarm(next);
  }

  /**
   * What a lookup learnt, in the check's synchronous step: verified entries
   * go; the others are known unverified until their answer runs out: a
   * live code's at its expiry (and before a block it would help start), a
   * code that can never be verified for good, unless its entry is still in
   * flight (its code may not have been reserved yet): then once it settles.
   * An answer clears the entry's failures; a failure counts only if it was
   * asked at least `settleMs` after the last one counted, so the sends of one
   * burst, all asking at once, count one failure between them.
   */
  private learn(sql: SqlStorage, lookedUp: LookedUp, now: number, settleMs: number): void {
    // An entry asked about again and not answered is not trusted on its older answer: it must not start a block.
    for (const codeId of lookedUp.asked) sql.exec("UPDATE held SET known_until = NULL WHERE code_id = ?", codeId);
    for (const codeId of lookedUp.verified) sql.exec("DELETE FROM held WHERE code_id = ?", codeId);
    for (const { codeId, until } of lookedUp.unverified) {
      sql.exec(
        `UPDATE held SET known_until = coalesce(?, CASE WHEN at + ? > ? THEN at + ? ELSE ? END),
          lookup_failures = 0, failed_at = NULL WHERE code_id = ?`,
        until,
        settleMs,
        now,
        settleMs,
        KNOWN_FOR_GOOD,
        codeId,
      );
    }
    for (const codeId of lookedUp.failed) {
      sql.exec(
        "UPDATE held SET lookup_failures = lookup_failures + 1, failed_at = ? WHERE code_id = ? AND (failed_at IS NULL OR failed_at <= ?)",
        lookedUp.askedAt,
        codeId,
        lookedUp.askedAt - settleMs,
      );
    }
  }

  private prune(sql: SqlStorage, now: number): void {
    sql.exec("DELETE FROM sends WHERE at <= ?", now - RANGE_WINDOW_MS);
    sql.exec("DELETE FROM held WHERE at <= ?", now - RANGE_WINDOW_MS);
    sql.exec("DELETE FROM released WHERE at <= ?", now - RELEASED_TTL_MS);
    sql.exec("DELETE FROM blocks_started WHERE at <= ?", now - DAY_MS);
    sql.exec("DELETE FROM block WHERE until <= ?", now);
    sql.exec("DELETE FROM listed WHERE until <= ?", now);
  }

  /** Sets the alarm for `at` unless one is due sooner. */
  private async armAlarm(at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > at) await this.ctx.storage.setAlarm(at);
  }

  /** Whether `held` has been given its newer columns in this instance (reset when everything is deleted). */
  private migrated = false;

  private tables(): SqlStorage {
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS sends (code_id TEXT PRIMARY KEY, at INTEGER NOT NULL)");
    sql.exec(
      "CREATE TABLE IF NOT EXISTS held (code_id TEXT PRIMARY KEY, at INTEGER NOT NULL, e164 TEXT, known_until INTEGER, lookup_failures INTEGER NOT NULL DEFAULT 0, failed_at INTEGER)",
    );
    if (!this.migrated) {
      // A range written before these columns: its rows get NULLs (no number: never looked up, counted as unverified).
      const columns = new Set(
        sql
          .exec<{ name: string }>("PRAGMA table_info(held)")
          .toArray()
          .map((c) => c.name),
      );
      if (!columns.has("e164")) sql.exec("ALTER TABLE held ADD COLUMN e164 TEXT");
      if (!columns.has("known_until")) sql.exec("ALTER TABLE held ADD COLUMN known_until INTEGER");
      // And before failed lookups were counted: no failures yet.
      if (!columns.has("lookup_failures")) {
        sql.exec("ALTER TABLE held ADD COLUMN lookup_failures INTEGER NOT NULL DEFAULT 0");
      }
      if (!columns.has("failed_at")) sql.exec("ALTER TABLE held ADD COLUMN failed_at INTEGER");
      this.migrated = true;
    }
    sql.exec("CREATE TABLE IF NOT EXISTS released (code_id TEXT PRIMARY KEY, at INTEGER NOT NULL)");
    sql.exec("CREATE TABLE IF NOT EXISTS blocks_started (at INTEGER NOT NULL)");
    sql.exec("CREATE TABLE IF NOT EXISTS refusing (since INTEGER NOT NULL)");
    for (const table of ["block", "listed"]) {
      sql.exec(
        `CREATE TABLE IF NOT EXISTS ${table} (range TEXT PRIMARY KEY, since INTEGER NOT NULL, until INTEGER NOT NULL, unverified INTEGER NOT NULL, times_today INTEGER NOT NULL)`,
      );
    }
    return sql;
  }
}

/** The name of the object that lists the active blocks. */
export const BLOCK_INDEX = "index";

/** The range's object (or, with BLOCK_INDEX, the list of blocks), typed by the class's RPC surface (see limiterFor for why the cast). */
export function rangeGuardFor(namespace: DurableObjectNamespace<RangeGuard>, name: string): RangeGuardRpc {
  return namespace.getByName(name === BLOCK_INDEX ? BLOCK_INDEX : `range:${name}`) as unknown as RangeGuardRpc;
}
