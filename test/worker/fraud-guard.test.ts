import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { settleMsOf } from "../../src/domain/guards/range-guard";
import app from "../../src/index";
import { loadSettings } from "../../src/kernel/config/settings";
import { MisconfiguredError } from "../../src/kernel/errors/service-error";
import { type ApiResponse, BASE, envWith, withEnv } from "../helpers/api";
import { ok, refused } from "../helpers/fake-fast2sms";
import { faultyNamespace } from "../helpers/faulty-bindings";
import { captureConsole } from "../helpers/log-capture";
import { expectProblem } from "../helpers/problem";
import { roundTripCounter } from "../helpers/round-trips";
import { advance, setUpWorkerTest } from "../helpers/setup";
import { storageCallCounter } from "../helpers/storage-calls";

/**
 * The fraud guard on number ranges (issue 22, docs/fraud.md): SMS pumping to
 * the numbers of one range, from many networks, costs at most
 * FRAUD_RANGE_MAX_UNVERIFIED SMS an hour; everyone else keeps signing in.
 */
const fast2sms = setUpWorkerTest();

const MAX = 20;
const TOKEN = "xxIT_SXoxRcrvsZPbU6_8zJoiPCmkzjympyjGpmaNUc";
const auth = { authorization: `Bearer ${TOKEN}` };
const settings = { FRAUD_RANGE_MAX_UNVERIFIED: String(MAX), ADMIN_TOKEN: TOKEN };

const usedRanges = new Set<string>();
/** A fresh range of valid Indian mobile numbers (+9198 and five digits; the last three digits are dropped). */
function freshRange(): string {
  for (;;) {
    const digits = Array.from(crypto.getRandomValues(new Uint8Array(5)), (b) => String(b % 10)).join("");
    const range = `+9198${digits}`;
    if (!usedRanges.has(range)) {
      usedRanges.add(range);
      return range;
    }
  }
}
const numberOf = (range: string, i: number) => `${range}${String(i).padStart(3, "0")}`;

/** A send from network `i` (its own address and ASN). */
function send(environment: Env, phone: string, i = 0): Promise<ApiResponse> {
  return withEnv(environment, "/send-otp", {
    json: { phone },
    headers: { "cf-connecting-ip": `203.0.${i % 250}.${1 + Math.floor(i / 250)}` },
    cf: { asn: 64_500 + i },
  } as RequestInit & { json: unknown });
}

const verify = (environment: Env, phone: string, sent: ApiResponse, otp: string) =>
  withEnv(environment, "/verify-otp", { json: { phone, otp, verification_id: sent.body.verification_id } });

const asAdmin = (environment: Env, path: string, method = "GET") =>
  withEnv(environment, path, { method, headers: auth });

/** The unverified sends the range's object counts now. */
const counted = (range: string) =>
  runInDurableObject(env.RANGE_GUARD.getByName(`range:${range}`), (_, state) => {
    state.storage.sql.exec("CREATE TABLE IF NOT EXISTS sends (code_id TEXT PRIMARY KEY, at INTEGER NOT NULL)");
    state.storage.sql.exec("CREATE TABLE IF NOT EXISTS held (code_id TEXT PRIMARY KEY, at INTEGER NOT NULL)");
    return state.storage.sql
      .exec<{ n: number }>("SELECT (SELECT count(*) FROM sends) + (SELECT count(*) FROM held) AS n")
      .one().n;
  });

/** The range's entries, each with its number and until when it is known unverified (null: never looked up). */
const entries = (range: string) =>
  runInDurableObject(env.RANGE_GUARD.getByName(`range:${range}`), (_, state) =>
    state.storage.sql
      .exec<{ code_id: string; e164: string | null; known_until: number | null }>(
        "SELECT code_id, e164, known_until FROM held ORDER BY at",
      )
      .toArray(),
  );

/** Each entry's counted failed lookups, oldest entry first, for the entries that have any. */
const failures = (range: string) =>
  runInDurableObject(env.RANGE_GUARD.getByName(`range:${range}`), (_, state) =>
    state.storage.sql
      .exec<{ n: number }>("SELECT lookup_failures AS n FROM held WHERE lookup_failures > 0 ORDER BY at")
      .toArray()
      .map((r) => r.n),
  );

/**
 * PHONE_LIMITER with its `codeUses` lookups recorded (each code id asked,
 * in order) and, while `failing` is set, failing (or, for the numbers in
 * `down`, failing for those only).
 */
function recordedLimiters() {
  const asked: string[] = [];
  let calls = 0;
  const state: { failing: boolean; down: Set<string> } = { failing: false, down: new Set() };
  const isDown = (id: DurableObjectId) =>
    [...state.down].some((n) => id.toString() === env.PHONE_LIMITER.idFromName(n).toString());
  const wrap = (stub: Record<string, (...args: unknown[]) => Promise<unknown>>, id: DurableObjectId) =>
    new Proxy(stub, {
      get(target, prop: string) {
        if (prop !== "codeUses") return (...args: unknown[]) => target[prop]!(...args);
        return (codeIds: string[], maxAttempts: number) => {
          calls += 1;
          asked.push(...codeIds);
          return state.failing || isDown(id) ? Promise.reject(new Error("down")) : target[prop]!(codeIds, maxAttempts);
        };
      },
    });
  const namespace = {
    getByName: (name: string) => wrap(env.PHONE_LIMITER.getByName(name) as never, env.PHONE_LIMITER.idFromName(name)),
    get: (id: DurableObjectId) => wrap(env.PHONE_LIMITER.get(id) as never, id),
    idFromName: (name: string) => env.PHONE_LIMITER.idFromName(name),
    idFromString: (id: string) => env.PHONE_LIMITER.idFromString(id),
  } as unknown as DurableObjectNamespace;
  return {
    namespace,
    state,
    /** How often each code was asked about. */
    timesAsked: () => asked.reduce((m, id) => m.set(id, (m.get(id) ?? 0) + 1), new Map<string, number>()),
    calls: () => calls,
    reset: () => {
      asked.length = 0;
      calls = 0;
    },
  };
}

/** Fills a range with `max` unverified sends from as many networks; the next one, once they settled, is refused and blocks it. */
async function blockRange(environment: Env, range: string, max = MAX): Promise<ApiResponse> {
  for (let i = 0; i < max; i++) expect((await send(environment, numberOf(range, i), i)).status).toBe(200);
  // Once they have settled (their messages went out), they count towards a block.
  advance(SETTLE_MS);
  const refusal = await send(environment, numberOf(range, max), max);
  expectProblem(refusal, 403, "fraud_suspected");
  return refusal;
}

const retryAfter = (res: ApiResponse) => Number(res.headers.get("retry-after"));

/** How long a held send takes to count towards a block: by then its outcome is known (range-guard.ts). */
const SETTLE_MS = settleMsOf(loadSettings(env));

describe("a pumping attack on one range", { timeout: 60_000 }, () => {
  it("40 sends to consecutive numbers from 40 networks, none verified: 20 SMS, then 403 fraud_suspected with Retry-After", async () => {
    const environment = envWith(settings);
    const range = freshRange();
    const answers: ApiResponse[] = [];
    for (let i = 0; i < MAX + 1; i++) answers.push(await send(environment, numberOf(range, i), i));
    expect(answers.slice(0, MAX).every((a) => a.status === 200)).toBe(true);
    // The next one, while the 20 are young, is refused for as long as they take to settle: no block yet.
    const early = answers[MAX]!;
    expectProblem(early, 403, "fraud_suspected");
    expect(retryAfter(early)).toBeGreaterThan(0);
    expect(retryAfter(early)).toBeLessThanOrEqual(Math.ceil(SETTLE_MS / 1000));
    advance(SETTLE_MS);
    for (let i = MAX + 1; i < 40; i++) answers.push(await send(environment, numberOf(range, i), i));
    expect(fast2sms.requests).toHaveLength(MAX);
    for (const refusal of answers.slice(MAX + 1)) {
      expectProblem(refusal, 403, "fraud_suspected");
      expect(retryAfter(refusal)).toBeGreaterThan(59 * 60);
      expect(retryAfter(refusal)).toBeLessThanOrEqual(60 * 60);
    }
    // One answer for every number of the range: the same detail, naming no number.
    const details = new Set(answers.slice(MAX + 1).map((a) => a.body.detail));
    expect(details.size).toBe(1);
    expect([...details][0]).toMatch(/paused for suspected abuse.*Try again in/);
    expect([...details][0]).not.toContain(range.slice(3));
  });

  it("other ranges are unaffected, and codes already sent to the blocked range still verify", async () => {
    const environment = envWith(settings);
    const range = freshRange();
    const first = await send(environment, numberOf(range, 0));
    const code = fast2sms.lastCode();
    for (let i = 1; i < MAX; i++) await send(environment, numberOf(range, i), i);
    advance(SETTLE_MS);
    expectProblem(await send(environment, numberOf(range, 500), 99), 403, "fraud_suspected");
    const other = freshRange();
    expect((await send(environment, numberOf(other, 0))).status).toBe(200);
    expect((await verify(environment, numberOf(range, 0), first, code)).status).toBe(200);
    // Verifying during the block does not lift it.
    expectProblem(await send(environment, numberOf(range, 501), 98), 403, "fraud_suspected");
  });

  it("the threshold is exact under 50 concurrent sends", async () => {
    const environment = envWith(settings);
    const range = freshRange();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => send(environment, numberOf(range, i), i)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(MAX);
    expect(answers.filter((a) => a.status === 403 && a.body.code === "fraud_suspected")).toHaveLength(50 - MAX);
    expect(fast2sms.requests).toHaveLength(MAX);
    // Those refused while the 20 were still in flight started no block; the next send, once they settled, does.
    advance(SETTLE_MS);
    expectProblem(await send(environment, numberOf(range, 60), 60), 403, "fraud_suspected");
    const { blocks } = (await asAdmin(environment, "/admin/blocks")).body as { blocks: { range: string }[] };
    expect(blocks.filter((b) => b.range === range)).toHaveLength(1);
  });

  it("sends that never go out start no block: 21 at once that the gateway refuses, or that one number's limits refuse", async () => {
    const environment = envWith(settings);
    const range = freshRange();
    fast2sms.respond(refused(400, 996, "refused"));
    const refusedByGateway = await Promise.all(
      Array.from({ length: MAX + 1 }, (_, i) => send(environment, numberOf(range, i), i)),
    );
    expect(refusedByGateway.filter((a) => a.status === 200)).toHaveLength(0);
    fast2sms.respond(ok());
    // 21 networks at one number: the number-wide ceiling lets 10 through and refuses the rest.
    const oneNumber = await Promise.all(
      Array.from({ length: MAX + 1 }, (_, i) => send(environment, numberOf(range, 500), 100 + i)),
    );
    expect(oneNumber.filter((a) => a.status === 200)).toHaveLength(10);
    expect(await counted(range)).toBe(10);
    // Nothing that never went out counted: the range is not blocked, and its other numbers sign in.
    expect((await send(environment, numberOf(range, 777), 200)).status).toBe(200);
    const { blocks } = (await asAdmin(environment, "/admin/blocks")).body as { blocks: { range: string }[] };
    expect(blocks.filter((b) => b.range === range)).toHaveLength(0);
  });

  it("a send refused while the range's last sends are in flight answers a short Retry-After and starts no block", async () => {
    const range = freshRange();
    // The check of the 21st send arrives while 20 are held (their outcome not yet known).
    const stub = env.RANGE_GUARD.getByName(`range:${range}`);
    const check = (codeId: string) =>
      stub.check({ range, codeId, maxUnverified: MAX, blockMs: 3_600_000, count: true, settleMs: 30_000 });
    for (let i = 0; i < MAX; i++) expect(await check(`c${i}`)).toEqual({ outcome: "counted" });
    const busy = await check("c20");
    expect(busy.outcome).toBe("busy");
    expect(await stub.block()).toBeNull();
    // Still in flight just before they settle; once settled (their outcome is known by then), the next check blocks.
    advance(29_000);
    expect((await check("c21")).outcome).toBe("busy");
    advance(2_000);
    expect(await check("c22")).toMatchObject({ outcome: "blocked", startedNow: true, block: { unverified: MAX } });
  });
});

describe("legitimate traffic", { timeout: 60_000 }, () => {
  it("a busy range whose codes are verified is never blocked (an office of 60 people signing in)", async () => {
    const environment = envWith(settings);
    const range = freshRange();
    for (let i = 0; i < 3 * MAX; i++) {
      const sent = await send(environment, numberOf(range, i), i);
      expect(sent.status).toBe(200);
      expect((await verify(environment, numberOf(range, i), sent, fast2sms.lastCode())).status).toBe(200);
    }
    // A verify tells the range nothing: its verified codes are dropped when it reaches its threshold.
    expect(await counted(range)).toBeLessThanOrEqual(MAX);
    const { blocks } = (await asAdmin(environment, "/admin/blocks")).body as { blocks: { range: string }[] };
    expect(blocks.filter((b) => b.range === range)).toHaveLength(0);
  });

  it("a safe-listed number (or prefix) in a blocked range passes and never counts", async () => {
    const range = freshRange();
    const staff = numberOf(range, 900);
    const office = freshRange();
    const environment = envWith({ ...settings, FRAUD_SAFE_LIST: `${staff}, ${office.slice(0, -1)}*` });
    await blockRange(environment, range);
    expect((await send(environment, staff)).status).toBe(200);
    expect(await counted(range)).toBe(0);
    for (let i = 0; i <= MAX + 5; i++) expect((await send(environment, numberOf(office, i), i)).status).toBe(200);
    expect(await counted(office)).toBe(0);
  });

  it("a test number in a blocked range is refused like every other number of it (a scan cannot find it), and never counts", async () => {
    const range = freshRange();
    const testNumber = numberOf(range, 950);
    const environment = envWith({ ...settings, TEST_PHONE_NUMBERS: `${testNumber}:123456` });
    expect((await send(environment, testNumber)).status).toBe(200);
    expect(await counted(range)).toBe(0);
    await blockRange(environment, range);
    expectProblem(await send(environment, testNumber, 7), 403, "fraud_suspected");
  });

  it("a test number at the range's threshold is refused as any other number of it would be", async () => {
    const range = freshRange();
    const testNumber = numberOf(range, 950);
    const environment = envWith({ ...settings, TEST_PHONE_NUMBERS: `${testNumber}:123456` });
    for (let i = 0; i < MAX; i++) expect((await send(environment, numberOf(range, i), i)).status).toBe(200);
    // While the 20 are young, the test number is refused as a real number of the range is.
    expectProblem(await send(environment, testNumber, 76), 403, "fraud_suspected");
    expectProblem(await send(environment, numberOf(range, 600), 75), 403, "fraud_suspected");
    advance(SETTLE_MS);
    // The range has its 20 unverified codes: the next send of any of its numbers, this one too, blocks it.
    const refusal = await send(environment, testNumber, 77);
    expectProblem(refusal, 403, "fraud_suspected");
    expect(retryAfter(refusal)).toBeGreaterThan(59 * 60);
    const other = await send(environment, numberOf(range, 500), 78);
    expect(other.body.detail).toBe(refusal.body.detail);
  });

  it("FRAUD_GUARD=off counts and blocks nothing", async () => {
    const environment = envWith({ ...settings, FRAUD_GUARD: "off" });
    const range = freshRange();
    for (let i = 0; i <= MAX + 5; i++) expect((await send(environment, numberOf(range, i), i)).status).toBe(200);
  });
});

describe("nothing half-done", { timeout: 60_000 }, () => {
  it("a send the gateway refuses cleanly, or the number's cooldown refuses, gives its range entry back", async () => {
    const environment = envWith(settings);
    const range = freshRange();
    expect((await send(environment, numberOf(range, 0))).status).toBe(200);
    // The same client again within the cooldown: the range was counted concurrently, and is given back.
    expectProblem(await send(environment, numberOf(range, 0)), 429, "rate_limited");
    fast2sms.respond(refused(400, 996, "refused"));
    expect((await send(environment, numberOf(range, 1), 1)).status).toBe(502);
    expect(await counted(range)).toBe(1);
    // An unknown outcome (a 5xx) may have gone out: it counts as sent, as for the budget.
    fast2sms.respond({ status: 500, body: "oops" });
    expect((await send(environment, numberOf(range, 2), 2)).status).toBe(502);
    expect(await counted(range)).toBe(2);
  });
});

describe("the range's object down or late", { timeout: 60_000 }, () => {
  it("a verify keeps working while the range's object is down; a send answers 503", async () => {
    const range = freshRange();
    const sent = await send(envWith(settings), numberOf(range, 1), 1);
    const code = fast2sms.lastCode();
    const down = envWith({
      ...settings,
      RANGE_GUARD: faultyNamespace(env.RANGE_GUARD, { check: new Error("down") }),
    });
    expect((await verify(down, numberOf(range, 1), sent, code)).status).toBe(200);
    expectProblem(await send(down, numberOf(range, 2), 2), 503, "unavailable");
  });

  it("a check that arrives after its own release counts nothing, even after the operator lifted the range", async () => {
    const range = freshRange();
    const stub = env.RANGE_GUARD.getByName(`range:${range}`);
    await stub.release("late-id", true);
    await stub.lift();
    const check = { range, codeId: "late-id", maxUnverified: MAX, blockMs: 3_600_000, count: true, settleMs: 30_000 };
    expect(await stub.check(check)).toEqual({ outcome: "counted" });
    expect(await counted(range)).toBe(0);
    await runInDurableObject(stub, (_, state) => {
      expect(state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM held").one().n).toBe(0);
    });
  });
});

describe("the block's life", { timeout: 60_000 }, () => {
  it("expires: once its time is up the range sends again", async () => {
    const environment = envWith(settings);
    const range = freshRange();
    await blockRange(environment, range);
    advance(59 * 60_000);
    expectProblem(await send(environment, numberOf(range, 30), 30), 403, "fraud_suspected");
    advance(2 * 60_000);
    expect((await send(environment, numberOf(range, 31), 31)).status).toBe(200);
    expect((await asAdmin(environment, "/admin/blocks")).body.blocks).not.toContainEqual(
      expect.objectContaining({ range }),
    );
  });

  /** The lengths in minutes of `rounds` blocks of one range, each started as soon as the one before ended. */
  async function blockLengths(overrides: Record<string, string>, rounds: number): Promise<number[]> {
    // The least threshold keeps each round short.
    const environment = envWith({ ...settings, ...overrides, FRAUD_RANGE_MAX_UNVERIFIED: "5" });
    const range = freshRange();
    const lengths: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const refusal = await blockRange(environment, range, 5);
      lengths.push(Math.round(retryAfter(refusal) / 60));
      advance(retryAfter(refusal) * 1000 + 1000);
    }
    return lengths;
  }

  it("escalates: each block of the range within 24 hours of the first doubles", async () => {
    expect(await blockLengths({}, 5)).toEqual([60, 120, 240, 480, 960]);
  });

  it("escalates up to 24 hours at most", async () => {
    expect(await blockLengths({ FRAUD_BLOCK_MINUTES: "1000" }, 2)).toEqual([1000, 1440]);
  });

  it("forgets blocks older than a day: a range blocked again after a quiet day starts at FRAUD_BLOCK_MINUTES", async () => {
    const environment = envWith(settings);
    const range = freshRange();
    await blockRange(environment, range);
    advance(25 * 60 * 60_000);
    const refusal = await blockRange(environment, range);
    expect(Math.round(retryAfter(refusal) / 60)).toBe(60);
  });

  it("the operator sees it and lifts it: the range starts afresh; both are in the stats and the log", async () => {
    const environment = envWith(settings);
    const range = freshRange();
    const before = (await asAdmin(environment, "/admin/stats")).body.fraud as Record<string, number>;
    await blockRange(environment, range);
    const listed = await asAdmin(environment, "/admin/blocks");
    expect(listed.status).toBe(200);
    const block = (listed.body.blocks as Record<string, unknown>[]).find((b) => b.range === range);
    expect(block).toMatchObject({ range, unverified: MAX, times_today: 1 });
    expect(Date.parse(block?.until as string) - Date.parse(block?.since as string)).toBe(60 * 60_000);

    const logs = captureConsole();
    const lifted = await asAdmin(environment, `/admin/blocks/${encodeURIComponent(range)}`, "DELETE");
    expect(lifted.status).toBe(204);
    expect(logs.events("admin.lift_block")).toEqual([expect.objectContaining({ range, lifted: true })]);
    expect((await send(environment, numberOf(range, 40), 40)).status).toBe(200);
    expect(await counted(range)).toBe(1);
    const after = (await asAdmin(environment, "/admin/stats")).body as {
      fraud: Record<string, number>;
      refused: { by_reason: Record<string, number> };
    };
    expect(after.fraud.ranges_blocked).toBe((before.ranges_blocked ?? 0) + 1);
    expect(after.fraud.blocks_lifted).toBe((before.blocks_lifted ?? 0) + 1);
    expect(after.refused.by_reason.fraud_suspected).toBeGreaterThanOrEqual(1);
    expect((await asAdmin(environment, "/admin/blocks")).body.blocks).not.toContainEqual(
      expect.objectContaining({ range }),
    );
  });

  it("DELETE /admin/blocks/{range} needs the admin token and a range", async () => {
    const environment = envWith(settings);
    const res = await withEnv(environment, `/admin/blocks/${encodeURIComponent(freshRange())}`, {
      method: "DELETE",
      headers: { "cf-connecting-ip": "198.51.100.200" },
    });
    expectProblem(res, 401, "admin_unauthorized");
    expectProblem(await asAdmin(environment, "/admin/blocks/not-a-range", "DELETE"), 400, "invalid_request");
  });
});

describe("cost of the check", { timeout: 60_000 }, () => {
  it("a send still waits for 3 storage round trips: the range's one call goes with the budget and the number", async () => {
    const counter = roundTripCounter();
    const ctx = createExecutionContext();
    const request = new Request(`${BASE}/send-otp`, {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": "198.51.100.10" },
      body: JSON.stringify({ phone: numberOf(freshRange(), 1) }),
    });
    const res = await app.fetch(request, { ...envWith(settings), ...counter.bindings } as Env, ctx);
    const answered = counter.mark();
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(200);
    // One call on the range, in round trip 2, and none after the response: a held entry settles by time.
    expect(counter.sequentialDepth(answered, [])).toBe(3);
    expect(counter.calls().filter((c) => c.startsWith("range."))).toEqual(["range.check"]);
  });

  it("a send refused by its client's own quota never reaches the range", async () => {
    const counter = roundTripCounter();
    const environment = { ...envWith({ ...settings, OTP_MAX_SENDS_PER_IP_PER_HOUR: "1" }), ...counter.bindings } as Env;
    const range = freshRange();
    expect((await withEnv(environment, "/send-otp", { json: { phone: numberOf(range, 0) } })).status).toBe(200);
    counter.reset();
    const refusal = await withEnv(environment, "/send-otp", { json: { phone: numberOf(range, 1) } });
    expectProblem(refusal, 429, "rate_limited");
    expect(counter.calls().filter((c) => c.startsWith("range."))).toEqual([]);
  });
});

describe("verified codes, learnt only at the threshold", { timeout: 60_000 }, () => {
  it("a verify makes no call on the range; its code frees its slot once the range reaches its threshold", async () => {
    const counter = storageCallCounter();
    const environment = { ...envWith(settings), ...counter.bindings() } as Env;
    const range = freshRange();
    const first = await send(environment, numberOf(range, 0), 0);
    counter.reset();
    expect((await verify(environment, numberOf(range, 0), first, fast2sms.lastCode())).status).toBe(200);
    expect(counter.calls().filter((c) => c.name.startsWith("RANGE_GUARD."))).toEqual([]);
    // Still counted: the range does not know yet.
    expect(await counted(range)).toBe(1);
    for (let i = 1; i < MAX; i++) expect((await send(environment, numberOf(range, i), i)).status).toBe(200);
    expect(await counted(range)).toBe(MAX);
    // At the threshold the send asks the 20 numbers (one call each), learns the first code was verified, and goes out.
    counter.reset();
    expect((await send(environment, numberOf(range, MAX), MAX)).status).toBe(200);
    const calls = counter.calls().map((c) => c.name);
    expect(calls.filter((c) => c === "PHONE_LIMITER.codeUses")).toHaveLength(MAX);
    expect(calls.filter((c) => c === "RANGE_GUARD.check")).toHaveLength(2);
    expect(await counted(range)).toBe(MAX);
    expect((await entries(range)).map((e) => e.code_id)).not.toContain(first.body.verification_id);
    // The 19 unverified are known now: the next send is refused asking only about the newest entry.
    counter.reset();
    expectProblem(await send(environment, numberOf(range, MAX + 1), MAX + 1), 403, "fraud_suspected");
    expect(counter.calls().filter((c) => c.name === "PHONE_LIMITER.codeUses")).toHaveLength(1);
  });

  it("each entry is asked about only when its answer has run out: a live code before a block and after its expiry, a dead one never again", async () => {
    const limiters = recordedLimiters();
    const environment = envWith({ ...settings, PHONE_LIMITER: limiters.namespace });
    const range = freshRange();
    const sent: ApiResponse[] = [];
    for (let i = 0; i < MAX; i++) sent.push(await send(environment, numberOf(range, i), i));
    expect(limiters.calls()).toBe(0);
    // Five sends at the threshold while the 20 are in flight: refused, no block; only the first asks (20 numbers, once each).
    for (let i = 0; i < 5; i++) {
      expectProblem(await send(environment, numberOf(range, 100 + i), 100 + i), 403, "fraud_suspected");
    }
    expect(limiters.calls()).toBe(MAX);
    expect([...limiters.timesAsked().values()]).toEqual(Array.from({ length: MAX }, () => 1));
    // Five people type their codes after that lookup. Settled, the 20 would start a block, so their live codes are
    // asked once more first: the five verified free their slots, and the send goes out.
    for (let i = 0; i < 5; i++) {
      const code = fast2sms.codeTo(numberOf(range, i));
      expect((await verify(environment, numberOf(range, i), sent[i]!, code)).status).toBe(200);
    }
    advance(SETTLE_MS);
    limiters.reset();
    expect((await send(environment, numberOf(range, 200), 200)).status).toBe(200);
    expect(limiters.calls()).toBe(MAX);
    expect(await counted(range)).toBe(MAX - 5 + 1);
    // Past the codes' expiry, the 16 are asked once more (they can never be verified now), with the 4 new in flight.
    advance((loadSettings(env).otp.ttlSeconds + 1) * 1000);
    for (let i = 0; i < 4; i++) expect((await send(environment, numberOf(range, 300 + i), 300 + i)).status).toBe(200);
    limiters.reset();
    expectProblem(await send(environment, numberOf(range, 400), 400), 403, "fraud_suspected");
    expect(limiters.calls()).toBe(MAX);
    // Once the 4 settled, the block is decided asking only them: the 16 dead codes are never asked about again.
    advance(SETTLE_MS);
    limiters.reset();
    expectProblem(await send(environment, numberOf(range, 401), 401), 403, "fraud_suspected");
    expect(limiters.calls()).toBe(4);
    const { blocks } = (await asAdmin(environment, "/admin/blocks")).body as { blocks: { range: string }[] };
    expect(blocks.filter((b) => b.range === range)).toHaveLength(1);
  });

  it("a lookup that fails leaves its entries unknown: sends are refused (fail closed) but no block starts", async () => {
    const limiters = recordedLimiters();
    const environment = envWith({ ...settings, PHONE_LIMITER: limiters.namespace });
    const range = freshRange();
    for (let i = 0; i < MAX; i++) {
      const sent = await send(environment, numberOf(range, i), i);
      expect((await verify(environment, numberOf(range, i), sent, fast2sms.lastCode())).status).toBe(200);
    }
    advance(SETTLE_MS);
    limiters.state.failing = true;
    const logs = captureConsole();
    const refusal = await send(environment, numberOf(range, MAX), MAX);
    expectProblem(refusal, 403, "fraud_suspected");
    expect(retryAfter(refusal)).toBeLessThanOrEqual(Math.ceil(SETTLE_MS / 1000));
    expect(logs.events("fraud.lookup_failed")).toEqual([expect.objectContaining({ range, numbers: MAX })]);
    expect((await entries(range)).every((e) => e.known_until === null)).toBe(true);
    const { blocks } = (await asAdmin(environment, "/admin/blocks")).body as { blocks: { range: string }[] };
    expect(blocks.filter((b) => b.range === range)).toHaveLength(0);
    // Their numbers are not asked again for SETTLE_MS: a send meanwhile is refused without a lookup.
    limiters.state.failing = false;
    limiters.reset();
    expectProblem(await send(environment, numberOf(range, MAX + 1), MAX + 1), 403, "fraud_suspected");
    expect(limiters.calls()).toBe(0);
    // Then, with the numbers answering again, the next send learns that all 20 were verified, and goes out.
    advance(SETTLE_MS);
    expect((await send(environment, numberOf(range, MAX + 2), MAX + 2)).status).toBe(200);
    expect(await counted(range)).toBe(1);
  });

  it("one number whose object keeps failing cannot hold its range refused: two failed lookups SETTLE_MS apart count its entry as unverified, and the range blocks, visibly", async () => {
    // The security review's attack: the attacker's own number's object is kept overloaded, so its entry stays unknown.
    const range = freshRange();
    const limiters = recordedLimiters();
    limiters.state.down.add(numberOf(range, 0));
    const environment = envWith({ ...settings, PHONE_LIMITER: limiters.namespace });
    for (let i = 0; i < MAX; i++) expect((await send(environment, numberOf(range, i), i)).status).toBe(200);
    advance(SETTLE_MS);
    const logs = captureConsole();
    // A burst at the threshold: every send asks (the entries were never looked up), the attacker's number fails for
    // all of them, but they count one failure between them; refused as busy, no block yet.
    const burst = await Promise.all(
      Array.from({ length: 5 }, (_, k) => send(environment, numberOf(range, 100 + k), 100 + k)),
    );
    for (const refusal of burst) {
      expectProblem(refusal, 403, "fraud_suspected");
      expect(retryAfter(refusal)).toBeLessThanOrEqual(Math.ceil(SETTLE_MS / 1000));
    }
    expect(await failures(range)).toEqual([1]);
    expect(await env.RANGE_GUARD.getByName(`range:${range}`).block()).toBeNull();
    // Logged once, with the range and how many entries are unknown (no number).
    expect(logs.events("fraud.range_refusing")).toEqual([expect.objectContaining({ range, unknown: 1 })]);
    // While its lookup rests, a flood of refused sends asks no number at all (the 19 live codes are not re-asked
    // either: no block is possible without the unknown entry), and logs nothing more.
    limiters.reset();
    advance(SETTLE_MS - 1000);
    for (let k = 0; k < 5; k++) {
      expectProblem(await send(environment, numberOf(range, 200 + k), 200 + k), 403, "fraud_suspected");
    }
    expect(limiters.calls()).toBe(0);
    expect(logs.events("fraud.range_refusing")).toHaveLength(1);
    // The next send asks again (at most the threshold's worth of numbers); the second failure counts the entry as
    // unverified, and the range is blocked: logged, listed for the operator, and liftable.
    advance(1000);
    const refusal = await send(environment, numberOf(range, 300), 300);
    expect(retryAfter(refusal)).toBeGreaterThan(59 * 60);
    expect(limiters.calls()).toBeLessThanOrEqual(MAX);
    expect(logs.events("fraud.range_blocked")).toEqual([expect.objectContaining({ range, unverified: MAX })]);
    const { blocks } = (await asAdmin(environment, "/admin/blocks")).body as { blocks: { range: string }[] };
    expect(blocks.filter((b) => b.range === range)).toHaveLength(1);
    expect((await asAdmin(environment, `/admin/blocks/${encodeURIComponent(range)}`, "DELETE")).status).toBe(204);
  });

  it("failing lookups count at most one number's entries: an attacker who keeps real users' objects failing cannot turn their sign-ins into a block", async () => {
    // The security review's attack: k people of the range sign in, the attacker adds MAX - k unverified sends and
    // keeps the k people's objects overloaded while its own sends at the threshold ask them, twice, SETTLE_MS apart.
    const scenario = async (signedIn: number, overload: boolean) => {
      const range = freshRange();
      const limiters = recordedLimiters();
      const environment = envWith({ ...settings, PHONE_LIMITER: limiters.namespace });
      for (let i = 0; i < signedIn; i++) {
        const sent = await send(environment, numberOf(range, i), i);
        expect((await verify(environment, numberOf(range, i), sent, fast2sms.lastCode())).status).toBe(200);
      }
      for (let i = signedIn; i < MAX; i++) expect((await send(environment, numberOf(range, i), i)).status).toBe(200);
      advance(SETTLE_MS);
      if (overload) for (let i = 0; i < signedIn; i++) limiters.state.down.add(numberOf(range, i));
      const first = await send(environment, numberOf(range, 100), 100);
      advance(SETTLE_MS);
      const second = await send(environment, numberOf(range, 101), 101);
      return { range, limiters, environment, first, second };
    };
    const block = (range: string) => env.RANGE_GUARD.getByName(`range:${range}`).block();

    // Control: with the lookups answering, 15 unverified sends and 5 sign-ins are 15, below the threshold.
    const control = await scenario(5, false);
    expect(control.first.status).toBe(200);
    expect(await block(control.range)).toBeNull();

    // The attack: each of the five entries fails twice, but only one number's count as unverified (16 < 20); the
    // other four stay unknown: the range refuses (short Retry-After) but is not blocked, round after round.
    const logs = captureConsole();
    const attack = await scenario(5, true);
    for (const refusal of [attack.first, attack.second]) {
      expectProblem(refusal, 403, "fraud_suspected");
      expect(retryAfter(refusal)).toBeLessThanOrEqual(Math.ceil(SETTLE_MS / 1000));
    }
    expect(await failures(attack.range)).toEqual([2, 2, 2, 2, 2]);
    advance(SETTLE_MS);
    const third = await send(attack.environment, numberOf(attack.range, 102), 102);
    expect(retryAfter(third)).toBeLessThanOrEqual(Math.ceil(SETTLE_MS / 1000));
    expect(await block(attack.range)).toBeNull();
    expect(logs.events("fraud.range_blocked").filter((e) => e.range === attack.range)).toEqual([]);
    // Once the objects answer again (and the failed entries have rested), the sign-ins are learnt and stop counting.
    attack.limiters.state.down.clear();
    advance(SETTLE_MS);
    expect((await send(attack.environment, numberOf(attack.range, 103), 103)).status).toBe(200);
    expect(await counted(attack.range)).toBe(MAX - 5 + 1);

    // The residual: keeping one number's object failing makes that one number's entries count.
    const one = await scenario(1, true);
    expectProblem(one.first, 403, "fraud_suspected");
    expect(retryAfter(one.second)).toBeGreaterThan(59 * 60);
  });

  it("a live code asked again before a block, and not answered, starts no block on its older answer", async () => {
    const limiters = recordedLimiters();
    const environment = envWith({ ...settings, PHONE_LIMITER: limiters.namespace });
    const range = freshRange();
    for (let i = 0; i < MAX; i++) expect((await send(environment, numberOf(range, i), i)).status).toBe(200);
    // Asked while in flight: 20 live codes, known unverified until their expiry.
    expectProblem(await send(environment, numberOf(range, MAX), MAX), 403, "fraud_suspected");
    expect((await entries(range)).every((e) => e.known_until !== null)).toBe(true);
    advance(SETTLE_MS);
    limiters.state.failing = true;
    expectProblem(await send(environment, numberOf(range, MAX + 1), MAX + 1), 403, "fraud_suspected");
    expect(await env.RANGE_GUARD.getByName(`range:${range}`).block()).toBeNull();
    expect((await entries(range)).every((e) => e.known_until === null)).toBe(true);
    // Answered again (once their lookups have rested): nobody used them, and the range is blocked.
    limiters.state.failing = false;
    advance(SETTLE_MS);
    const refusal = await send(environment, numberOf(range, MAX + 2), MAX + 2);
    expect(retryAfter(refusal)).toBeGreaterThan(59 * 60);
  });

  it("a lookup that passes its deadline counts as failed: the send is refused, and nothing is learnt", async () => {
    const range = freshRange();
    const environment = envWith(settings);
    for (let i = 0; i < MAX; i++) expect((await send(environment, numberOf(range, i), i)).status).toBe(200);
    // Only the send at the threshold has the short deadline, and its lookups never answer.
    const hanging = envWith({
      ...settings,
      STORAGE_TIMEOUT_MS: "200",
      PHONE_LIMITER: faultyNamespace(env.PHONE_LIMITER, { codeUses: "hang" }),
    });
    const logs = captureConsole();
    expectProblem(await send(hanging, numberOf(range, MAX), MAX), 403, "fraud_suspected");
    expect(logs.events("fraud.lookup_failed")).toEqual([expect.objectContaining({ range, numbers: MAX })]);
    expect((await entries(range)).every((e) => e.known_until === null)).toBe(true);
  });

  it("a range written before entries kept their number counts its old entries as unverified, never looked up", async () => {
    const range = freshRange();
    const stub = env.RANGE_GUARD.getByName(`range:${range}`);
    await runInDurableObject(stub, (_, state) => {
      const sql = state.storage.sql;
      sql.exec("CREATE TABLE held (code_id TEXT PRIMARY KEY, at INTEGER NOT NULL)");
      for (let i = 0; i < MAX; i++) sql.exec("INSERT INTO held (code_id, at) VALUES (?, ?)", `old${i}`, Date.now());
    });
    const check = (codeId: string) =>
      stub.check({
        range,
        codeId,
        maxUnverified: MAX,
        blockMs: 3_600_000,
        count: true,
        settleMs: 30_000,
        e164: numberOf(range, 1),
        confirm: true,
      });
    expect((await check("new0")).outcome).toBe("busy");
    advance(31_000);
    expect(await check("new1")).toMatchObject({ outcome: "blocked", startedNow: true, block: { unverified: MAX } });
  });
});

describe("settings", () => {
  const base = { SMS_PROVIDER: "console", JWT_SECRET: "j".repeat(32), OTP_HASH_SECRET: "h".repeat(32) };

  it("defaults: on, ranges of the number without 3 digits, 20 unverified, 60 minutes, no safe list", () => {
    expect(loadSettings({ ...base }).fraud).toEqual({
      enabled: true,
      dropDigits: 3,
      maxUnverified: 20,
      blockMinutes: 60,
      safeNumbers: [],
      safePrefixes: [],
    });
    expect(loadSettings({ ...base, FRAUD_SAFE_LIST: "+919876543210, +91987654*" }).fraud).toMatchObject({
      safeNumbers: ["+919876543210"],
      safePrefixes: ["+91987654"],
    });
  });

  it.each([
    ["FRAUD_GUARD", "yes"],
    ["FRAUD_RANGE_DROP_DIGITS", "1"],
    ["FRAUD_RANGE_DROP_DIGITS", "6"],
    ["FRAUD_RANGE_MAX_UNVERIFIED", "4"],
    ["FRAUD_RANGE_MAX_UNVERIFIED", "10001"],
    ["FRAUD_BLOCK_MINUTES", "0"],
    ["FRAUD_SAFE_LIST", "9876543210"],
    ["FRAUD_SAFE_LIST", "+91*98"],
  ])("refuses %s=%s, naming the setting", (name, value) => {
    expect(() => loadSettings({ ...base, [name]: value })).toThrow(MisconfiguredError);
    expect(() => loadSettings({ ...base, [name]: value })).toThrow(name);
  });
});
