import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { SendLimits } from "../../src/platform/limiter/limiter-types";
import { HASH_HELD_MS, limiterFor, type PhoneLimiter, THROTTLE_MAX_MS } from "../../src/platform/limiter/phone-limiter";
import { advance } from "../helpers/setup";

const limits: SendLimits = {
  ttlMs: 300_000,
  cooldownMs: 30_000,
  maxSendsPerHour: 3,
  maxSendsPerNumberPerHour: 10,
  maxFailuresPerClient: 10,
  maxFailuresPerNumber: 100,
};
const send = (codeId: string, client = "198.51.100.1", shared = false) => ({
  codeId,
  client,
  shared,
  trustKey: shared ? null : client,
  hash: `hash-of-${codeId}`,
  limits,
});
const attempt = (codeId: string, matched: boolean, attemptId: string = crypto.randomUUID()) => ({
  codeId,
  attemptId,
  check: { matched },
  maxAttempts: 5,
});

afterEach(() => vi.useRealTimers());

const keysIn = (name: string) =>
  runInDurableObject(
    env.PHONE_LIMITER.getByName(name),
    (_: PhoneLimiter, state) => [...state.storage.kv.list()].length,
  );

describe("PhoneLimiter storage", () => {
  it("schedules an alarm that deletes everything once nothing can matter", async () => {
    const name = "+919800000001";
    const limiter = limiterFor(env.PHONE_LIMITER, name);
    expect(await limiter.reserveSend(send("code-a"))).toMatchObject({ outcome: "reserved" });
    expect(await limiter.recordAttempt(attempt("code-a", false))).toEqual({ outcome: "wrong", attemptsLeft: 4 });
    expect(await keysIn(name)).toBe(1);

    // After two hours the send and the code no longer count, but the failure still does: state is kept.
    advance(2 * 3600_000);
    expect(await runDurableObjectAlarm(env.PHONE_LIMITER.getByName(name))).toBe(true);
    expect(await keysIn(name)).toBe(1);

    // After 24 hours nothing is left, not even the alarm.
    advance(23 * 3600_000);
    expect(await runDurableObjectAlarm(env.PHONE_LIMITER.getByName(name))).toBe(true);
    expect(await keysIn(name)).toBe(0);
    expect(await runDurableObjectAlarm(env.PHONE_LIMITER.getByName(name))).toBe(false);
  });

  it("a new code leaves the older one live: each is checked only under its own id", async () => {
    const limiter = limiterFor(env.PHONE_LIMITER, "+919800000002");
    await limiter.reserveSend(send("first"));
    advance(31_000);
    await limiter.reserveSend(send("second"));
    expect(await limiter.recordAttempt(attempt("unknown", true))).toEqual({ outcome: "not_live" });
    expect(await limiter.recordAttempt(attempt("first", true))).toEqual({ outcome: "verified" });
    expect(await limiter.recordAttempt(attempt("first", true))).toEqual({ outcome: "not_live" });
    expect(await limiter.recordAttempt(attempt("second", true))).toEqual({ outcome: "verified" });
  });

  it("a cancelled code cannot be verified, and its send still counts", async () => {
    const limiter = limiterFor(env.PHONE_LIMITER, "+919800000003");
    await limiter.reserveSend(send("c"));
    await limiter.cancelCode("c");
    expect(await limiter.newestLiveCode(5)).toBeNull();
    expect(await limiter.recordAttempt(attempt("c", true))).toEqual({ outcome: "not_live" });
    expect(await limiter.reserveSend(send("d"))).toMatchObject({ outcome: "cooldown" });
  });

  it("a released send counts for nothing and leaves older codes alone", async () => {
    const limiter = limiterFor(env.PHONE_LIMITER, "+919800000004");
    await limiter.reserveSend(send("old"));
    advance(31_000);
    await limiter.reserveSend(send("new"));
    await limiter.releaseSend("new", { late: false });
    await limiter.releaseSend("new", { late: false });
    expect(await limiter.newestLiveCode(5)).toBe("old");
    // Only the first send counts: the cooldown runs from it, so a send now is allowed.
    expect(await limiter.reserveSend(send("again"))).toMatchObject({ outcome: "reserved" });
  });

  it("reserveSend is idempotent per code id", async () => {
    const limiter = limiterFor(env.PHONE_LIMITER, "+919800000005");
    const first = await limiter.reserveSend(send("same"));
    expect(await limiter.reserveSend(send("same"))).toEqual(first);
  });

  it("an undo that arrives before its call leaves a tombstone: the late call does nothing", async () => {
    const limiter = limiterFor(env.PHONE_LIMITER, "+919800000008");
    await limiter.releaseSend("late-code", { late: true });
    expect(await limiter.reserveSend(send("late-code"))).toEqual({ outcome: "cancelled" });
    expect(await limiter.newestLiveCode(5)).toBeNull();
    await limiter.reserveSend(send("c"));
    await limiter.undoAttempt("c", "late-right", { late: true });
    expect(await limiter.recordAttempt(attempt("c", true, "late-right"))).toEqual({ outcome: "not_live" });
    await limiter.undoAttempt("c", "late-wrong", { late: true });
    expect(await limiter.recordAttempt(attempt("c", false, "late-wrong"))).toEqual({ outcome: "not_live" });
    expect(await limiter.recordAttempt(attempt("c", true))).toEqual({ outcome: "verified" });
  });

  it("the cooldown and hourly limit are per client; the number has its own ceiling", async () => {
    const limiter = limiterFor(env.PHONE_LIMITER, "+919800000009");
    const few = { ...limits, maxSendsPerHour: 2, maxSendsPerNumberPerHour: 3 };
    expect(await limiter.reserveSend({ ...send("s1", "stranger"), limits: few })).toMatchObject({
      outcome: "reserved",
    });
    expect(await limiter.reserveSend({ ...send("s2", "stranger"), limits: few })).toMatchObject({
      outcome: "cooldown",
    });
    expect(await limiter.reserveSend({ ...send("o1", "owner"), limits: few })).toMatchObject({
      outcome: "reserved",
    });
    advance(31_000);
    expect(await limiter.reserveSend({ ...send("s3", "stranger"), limits: few })).toMatchObject({
      outcome: "reserved",
    });
    advance(31_000);
    expect(await limiter.reserveSend({ ...send("s4", "stranger"), limits: few })).toMatchObject({
      outcome: "hourly_limit",
    });
    expect(await limiter.reserveSend({ ...send("o2", "owner"), limits: few })).toMatchObject({
      outcome: "number_limit",
    });
  });

  it("undoAttempt takes back a right guess and a wrong one, once", async () => {
    const limiter = limiterFor(env.PHONE_LIMITER, "+919800000006");
    await limiter.reserveSend(send("c"));
    expect(await limiter.recordAttempt(attempt("c", false, "w1"))).toEqual({ outcome: "wrong", attemptsLeft: 4 });
    await limiter.undoAttempt("c", "w1", { late: false });
    await limiter.undoAttempt("c", "w1", { late: false });
    expect(await limiter.recordAttempt(attempt("c", false, "w2"))).toEqual({ outcome: "wrong", attemptsLeft: 4 });
    expect(await limiter.recordAttempt(attempt("c", true, "r1"))).toEqual({ outcome: "verified" });
    await limiter.undoAttempt("c", "r1", { late: false });
    expect(await limiter.recordAttempt(attempt("c", true, "r2"))).toEqual({ outcome: "verified" });
  });

  it("wrong guesses lock new sends for the client that asked for the codes, not for other clients", async () => {
    const limiter = limiterFor(env.PHONE_LIMITER, "+919800000007");
    const tight = { ...limits, cooldownMs: 0, maxSendsPerHour: 100, maxFailuresPerClient: 3, maxFailuresPerNumber: 5 };
    await limiter.reserveSend({ ...send("a1", "attacker"), limits: tight });
    for (let i = 0; i < 3; i++) await limiter.recordAttempt(attempt("a1", false));
    expect(await limiter.reserveSend({ ...send("a2", "attacker"), limits: tight })).toMatchObject({
      outcome: "locked",
    });
    expect(await limiter.reserveSend({ ...send("o1", "owner"), limits: tight })).toMatchObject({
      outcome: "reserved",
    });
    // The number-wide ceiling stops new codes for everyone, but a code already sent still verifies.
    await limiter.reserveSend({ ...send("b1", "other"), limits: tight });
    for (let i = 0; i < 2; i++) await limiter.recordAttempt(attempt("b1", false));
    expect(await limiter.reserveSend({ ...send("o2", "owner"), limits: tight })).toMatchObject({
      outcome: "locked",
    });
    expect(await limiter.recordAttempt(attempt("o1", true))).toEqual({ outcome: "verified" });
    // Having signed in, the owner's network is no longer held by the number-wide ceiling, only by its own limit.
    expect(await limiter.reserveSend({ ...send("o3", "owner"), limits: tight })).toMatchObject({
      outcome: "reserved",
    });
    expect(await limiter.reserveSend({ ...send("x1", "stranger"), limits: tight })).toMatchObject({
      outcome: "locked",
    });
  });

  it("a refused send leaves nothing stored: 300 cooldown refusals keep the state as small as one send", async () => {
    const name = "+919800000010";
    const limiter = limiterFor(env.PHONE_LIMITER, name);
    await limiter.reserveSend(send("first"));
    const sizeOf = () =>
      runInDurableObject(env.PHONE_LIMITER.getByName(name), (_: PhoneLimiter, state) => ({
        value: JSON.stringify(state.storage.kv.get("state")).length,
        tombstones: state.storage.sql.exec("SELECT count(*) AS n FROM tombstones").one().n,
      }));
    const before = await sizeOf();
    for (let i = 0; i < 300; i++) {
      expect(await limiter.reserveSend(send(`refused-${i}`))).toMatchObject({ outcome: "cooldown" });
      // What the Worker does after a refusal that answered in time: nothing to undo, so no tombstone.
      await limiter.releaseSend(`refused-${i}`, { late: false });
    }
    expect(await sizeOf()).toEqual(before);
  });

  it("tombstones are rows with their own expiry, left only for calls that passed their deadline", async () => {
    const name = "+919800000011";
    const limiter = limiterFor(env.PHONE_LIMITER, name);
    const tombstones = () =>
      runInDurableObject(env.PHONE_LIMITER.getByName(name), (_: PhoneLimiter, state) =>
        state.storage.sql
          .exec<{ id: string }>("SELECT id FROM tombstones ORDER BY id")
          .toArray()
          .map((r) => r.id),
      );
    await limiter.releaseSend("on-time", { late: false });
    await limiter.releaseSend("late", { late: true });
    expect(await tombstones()).toEqual(["late"]);
    expect(await limiter.reserveSend(send("on-time"))).toMatchObject({ outcome: "reserved" });
    expect(await limiter.reserveSend(send("late"))).toEqual({ outcome: "cancelled" });
    // An hour later the tombstone has expired and the alarm clears it with the rest.
    advance(2 * 3600_000);
    expect(await runDurableObjectAlarm(env.PHONE_LIMITER.getByName(name))).toBe(true);
    expect(await tombstones()).toEqual([]);
  });

  it("holds a young code's hash, so a guess is checked without KV; drops it once KV has settled", async () => {
    const name = "+919800000012";
    const limiter = limiterFor(env.PHONE_LIMITER, name);
    await limiter.reserveSend(send("young"));
    const guess = (guessHash: string) => ({
      codeId: "young",
      attemptId: crypto.randomUUID(),
      check: { guessHash },
      maxAttempts: 5,
    });
    expect(await limiter.recordAttempt(guess("hash-of-other"))).toEqual({ outcome: "wrong", attemptsLeft: 4 });
    expect(await limiter.recordAttempt(guess("hash-of-young"))).toEqual({ outcome: "verified" });

    await limiter.reserveSend({ ...send("old"), limits: { ...limits, cooldownMs: 0 } });
    advance(HASH_HELD_MS + 1);
    // The object no longer holds the hash: it counts nothing and asks for the Worker's KV comparison.
    expect(await limiter.recordAttempt({ ...guess("hash-of-old"), codeId: "old" })).toEqual({
      outcome: "hash_not_held",
    });
    expect(await limiter.recordAttempt({ ...attempt("old", true) })).toEqual({ outcome: "verified" });
  });

  it("wrong guesses from a shared address slow new codes down, capped at an hour, and never lock", async () => {
    const limiter = limiterFor(env.PHONE_LIMITER, "+919800000013");
    const open = {
      ...limits,
      cooldownMs: 0,
      maxSendsPerHour: 1000,
      maxSendsPerNumberPerHour: 1000,
      maxFailuresPerClient: 3,
      // Every failure counts toward the number-wide ceiling; it is not what this test is about.
      maxFailuresPerNumber: 100,
    };
    const carrierSend = (id: string) => limiter.reserveSend({ ...send(id, "100.64.0.1", true), limits: open });
    let wrong = 0;
    // A stranger behind the carrier's NAT: every code it gets, it guesses wrong until the code is spent.
    for (let round = 0; round < 12; round++) {
      const id = `s${round}`;
      let r = await carrierSend(id);
      if (r.outcome === "throttled") {
        expect(r.retryAfterMs).toBeLessThanOrEqual(THROTTLE_MAX_MS);
        advance(r.retryAfterMs);
        r = await carrierSend(id);
      }
      expect(r).toMatchObject({ outcome: "reserved" });
      for (let i = 0; i < 5; i++) {
        await limiter.recordAttempt(attempt(id, false));
        wrong++;
      }
    }
    expect(wrong).toBe(60);
    // Sixty wrong guesses, far past both lock thresholds: the owner behind the same address waits at most an hour.
    const owner = await carrierSend("owner");
    expect(owner.outcome).toBe("throttled");
    if (owner.outcome === "throttled") expect(owner.retryAfterMs).toBeLessThanOrEqual(THROTTLE_MAX_MS);
    advance(THROTTLE_MAX_MS);
    expect(await carrierSend("owner")).toMatchObject({ outcome: "reserved" });
    // Another shared key (another carrier address) and a client on another network were never held by them.
    expect(await limiter.reserveSend({ ...send("other-nat", "100.64.0.2", true), limits: open })).toMatchObject({
      outcome: "reserved",
    });
    expect(await limiter.reserveSend({ ...send("home", "203.0.113.9"), limits: open })).toMatchObject({
      outcome: "reserved",
    });
  });
});
