/**
 * Domain layer: the fraud guard on number ranges (docs/fraud.md). SMS
 * pumping sends many codes to the numbers of one range and verifies almost
 * none, from thousands of addresses, so per-client limits miss it. Each
 * send to a range counts as unverified in the range's RangeGuard until its
 * code is verified (or an hour passes); the first FRAUD_RANGE_MAX_UNVERIFIED
 * go out, the next is refused and blocks the range for FRAUD_BLOCK_MINUTES
 * (doubling per block within a day, at most 24 hours). A block answers the
 * same (`403 fraud_suspected`, one detail, one Retry-After) for every number
 * of the range, and says nothing about any one of them.
 */
import type { Settings } from "../../kernel/config/settings";
import { describeWait } from "../../kernel/describe-wait";
import { FraudSuspectedError, type ServiceError } from "../../kernel/errors/service-error";
import { log } from "../../kernel/log/log";
import type { CodeUse } from "../../platform/limiter/limiter-types";
import { limiterFor, type PhoneLimiter } from "../../platform/limiter/phone-limiter";
import {
  BLOCK_INDEX,
  codeOfEntry,
  type LookedUp,
  type RangeBlock,
  type RangeCheck,
  type RangeEntry,
  type RangeGuard,
  type RangeGuardRpc,
  type RangeResult,
  rangeGuardFor,
} from "../../platform/limiter/range-guard";
import { type StorageCallOptions, storageCall } from "../../platform/storage-call";
import type { QuotaHold } from "./send-quotas";

type Ranges = DurableObjectNamespace<RangeGuard>;

/** The range of an E.164 number: without its last `dropDigits` digits (`+91987654` for `+919876543210`). */
export function rangeOf(e164: string, dropDigits: number): string {
  return e164.slice(0, -dropDigits);
}

/** Whether a range as the operator writes it (`+91987654`) is one: `+` and 4 to 13 digits. */
export const isRange = (text: string): boolean => /^\+[1-9][0-9]{3,12}$/.test(text);

/** Whether the fraud guard leaves this number alone: off, or the number (or a prefix of it) in FRAUD_SAFE_LIST. */
export function rangeExempt({ fraud }: Pick<Settings, "fraud">, e164: string): boolean {
  return !fraud.enabled || fraud.safeNumbers.includes(e164) || fraud.safePrefixes.some((p) => e164.startsWith(p));
}

/**
 * Per isolate: the ranges seen blocked, until their block ends, trusted for
 * at most MEMO_MAX_MS (a block lifted in another isolate is seen within that
 * long); so the sends of a blocked range stop reaching storage at all.
 */
const blocked = new Map<string, { until: number; trustUntil: number }>();
const MEMO_MAX_MS = 30_000;
const MEMO_MAX_ENTRIES = 10_000;

function remember(range: string, until: number, now: number): void {
  if (blocked.size >= MEMO_MAX_ENTRIES) blocked.clear();
  blocked.set(range, { until, trustUntil: Math.min(until, now + MEMO_MAX_MS) });
}

/** Forgets what this isolate knows of a range (its block was lifted here). */
export function forgetBlocked(range: string): void {
  blocked.delete(range);
}

/** The one refusal of a blocked range: the same for every number of it. */
function rangeRefusal(until: number, now: number): ServiceError {
  const seconds = Math.max(1, Math.ceil((until - now) / 1000));
  return new FraudSuspectedError(
    `Sign-in by SMS to this number is paused for suspected abuse of its number range. Try again in ${describeWait(seconds)}.`,
    { retryAfter: seconds },
  );
}

/** The refusal for a range this isolate knows is blocked, with no storage call; undefined when it knows of none. */
export function knownRangeRefusal(range: string, now = Date.now()): ServiceError | undefined {
  const memo = blocked.get(range);
  if (memo === undefined) return undefined;
  if (memo.trustUntil <= now) {
    blocked.delete(range);
    return undefined;
  }
  return rangeRefusal(memo.until, now);
}

/**
 * How long a send's outcome can take after its range's check: the rest of
 * round trip 2 and round trip 3, the gateway's deadline, and the call that
 * reports the outcome. A held entry older than this is taken for sent.
 */
export const settleMsOf = (settings: Pick<Settings, "smsSendDeadlineMs" | "storageTimeoutMs">): number =>
  settings.smsSendDeadlineMs + 3 * settings.storageTimeoutMs;

/** A range's hold on a send: a QuotaHold whose entry, unless given back, counts towards a block once settled (settleMsOf). */
export interface RangeHold extends QuotaHold {
  /** take() puts the storage deadline on each of its calls itself (a send's hold: at the threshold it makes several in a row). */
  readonly ownDeadlines: boolean;
}

/** How a send's check learns, at the threshold, which of the range's codes were verified. */
export interface RangeLookups {
  limiters: DurableObjectNamespace<PhoneLimiter>;
  /** OTP_MAX_ATTEMPTS: a code out of tries can no longer be verified. */
  maxAttempts: number;
  /** The deadline of each call (the checks and each lookup). */
  call: StorageCallOptions;
}

export interface RangeHoldOptions {
  ranges: Ranges;
  settings: Pick<Settings, "fraud" | "smsSendDeadlineMs" | "storageTimeoutMs">;
  range: string;
  codeId: string;
  /** The number the code goes to: the range asks its PhoneLimiter, at the threshold, whether the code was verified. */
  e164: string;
  /**
   * Given for a send: at the threshold its check may answer `confirm`, and
   * the entries are looked up. Absent for a fallback message, which runs in
   * a PhoneLimiter's alarm and calls no other number's object: entries not
   * yet looked up then refuse it at the threshold but start no block (those
   * whose lookup failed twice count as unverified for one number of the
   * range, as in a send's check).
   */
  lookups?: RangeLookups;
  /** false for a test number: it never counts, but a blocked range refuses it like any other number. */
  count: boolean;
  /** Runs work after the response (ExecutionContext.waitUntil). */
  background: (work: Promise<unknown>) => void;
  /** Called once, by the send whose refusal started the block. */
  onBlockStarted: (block: RangeBlock) => void;
}

/**
 * The send's one call on its range's object, as a hold taken with the other
 * shared counters (round trip 2 of a send, concurrently): refused while the
 * range is blocked; else the send is held as unverified, given back
 * (release) when the send is refused elsewhere or fails cleanly, like every
 * other hold, and counted as sent once settled (settleMsOf: by then its
 * outcome is known, so no call marks it): only settled ones start a block,
 * so sends that never go out cannot, and a send costs its range one call.
 * A verify tells the range nothing: only a send that finds the range at its
 * threshold asks the numbers of the entries it does not know about which
 * codes were verified (one read per number, at once), and checks again with
 * the answers (lookUp). The send that starts a block lists it for the
 * operator after the response.
 */
export function rangeHold(options: RangeHoldOptions): RangeHold {
  const { range, codeId, settings, lookups } = options;
  const guard: RangeGuardRpc = rangeGuardFor(options.ranges, range);
  // Whether the check was sent: a send refused before it (by the client's own limits) never reaches the range.
  let reached = false;
  // A range that refused counted nothing; release is a no-op there.
  const release = (late = true) => (options.count && reached ? guard.release(codeId, late) : Promise.resolve());
  const check = (request: RangeCheck): Promise<RangeResult> =>
    lookups === undefined
      ? guard.check(request)
      : storageCall(
          lookups.call,
          () => guard.check(request),
          () => release(),
        );
  return {
    shared: true,
    ownDeadlines: lookups !== undefined,
    async take() {
      reached = true;
      const request: RangeCheck = {
        range,
        codeId,
        maxUnverified: settings.fraud.maxUnverified,
        blockMs: settings.fraud.blockMinutes * 60_000,
        count: options.count,
        settleMs: settleMsOf(settings),
        e164: options.e164,
        confirm: lookups !== undefined,
      };
      let result = await check(request);
      if (result.outcome === "confirm" && lookups !== undefined) {
        const lookedUp = await lookUp(lookups, range, result.entries, result.at);
        // Decided with what was learnt; this check never answers `confirm`.
        result = await check({ ...request, confirm: false, lookedUp });
      }
      if (result.outcome === "counted") return undefined;
      const now = Date.now();
      // Not a block: nothing remembered, nothing listed; the same answer for every number of the range.
      if (result.outcome === "busy") {
        // Once per spell of refusals held only by entries of unknown fate (no number in it: the range, as blocks are).
        if (result.startedRefusing) log("fraud.range_refusing", { range, unknown: result.unknown });
        return rangeRefusal(result.retryAt, now);
      }
      // Only a check with `confirm` answers it: refused as busy, never sent.
      if (result.outcome === "confirm") return rangeRefusal(now + request.settleMs, now);
      remember(range, result.block.until, now);
      if (result.startedNow) {
        const { block } = result;
        log("fraud.range_blocked", {
          range,
          unverified: block.unverified,
          times_today: block.timesToday,
          minutes: Math.round((block.until - block.since) / 60_000),
        });
        options.background(
          rangeGuardFor(options.ranges, BLOCK_INDEX)
            .noteBlock(block)
            .catch((error: unknown) => log("fraud.index_failed", { range, error })),
        );
        options.onBlockStarted(block);
      }
      return rangeRefusal(result.block.until, now);
    },
    release,
  };
}

/**
 * Which of the range's entries were verified, from their numbers'
 * PhoneLimiters: one read-only call per number, all at once, each with the
 * storage deadline. A number whose call fails or is late has its entries
 * reported `failed`: they stay unknown: they hold the threshold (the send is
 * refused, fail closed) but start no block, and are not asked again for
 * settleMsOf; a second such failure at least that long after counts them as
 * unverified, for one number of the range at a time (the one with the most
 * such entries; range-guard.ts in platform/limiter).
 */
async function lookUp(
  lookups: RangeLookups,
  range: string,
  entries: readonly RangeEntry[],
  askedAt: number,
): Promise<LookedUp> {
  const byNumber = new Map<string, RangeEntry[]>();
  for (const entry of entries) byNumber.set(entry.e164, [...(byNumber.get(entry.e164) ?? []), entry]);
  const lookedUp: LookedUp = { asked: entries.map((e) => e.codeId), askedAt, failed: [], verified: [], unverified: [] };
  const failed: unknown[] = [];
  await Promise.all(
    [...byNumber].map(async ([e164, mine]) => {
      const codeIds = [...new Set(mine.map((e) => codeOfEntry(e.codeId)))];
      let uses: CodeUse[];
      try {
        uses = await storageCall(lookups.call, () =>
          limiterFor(lookups.limiters, e164).codeUses(codeIds, lookups.maxAttempts),
        );
      } catch (error) {
        failed.push(error);
        lookedUp.failed.push(...mine.map((e) => e.codeId));
        return;
      }
      const byCode = new Map(uses.map((u) => [u.codeId, u]));
      for (const entry of mine) {
        const use = byCode.get(codeOfEntry(entry.codeId));
        if (use === undefined) continue;
        if (use.verified) lookedUp.verified.push(entry.codeId);
        else lookedUp.unverified.push({ codeId: entry.codeId, until: use.liveUntil });
      }
    }),
  );
  // One line per send, however many of its numbers failed.
  if (failed.length > 0) log("fraud.lookup_failed", { range, numbers: failed.length, error: failed[0] });
  return lookedUp;
}

/** The active blocks, from the list the blocks are written to. */
export function activeBlocks(ranges: Ranges): Promise<RangeBlock[]> {
  return rangeGuardFor(ranges, BLOCK_INDEX).listBlocks();
}

/** Lifts a range's block and takes it off the list; whether a block was active. The range starts afresh. */
export async function liftBlock(ranges: Ranges, range: string): Promise<boolean> {
  forgetBlocked(range);
  const [lifted] = await Promise.all([
    rangeGuardFor(ranges, range).lift(),
    rangeGuardFor(ranges, BLOCK_INDEX).dropBlock(range),
  ]);
  return lifted;
}
