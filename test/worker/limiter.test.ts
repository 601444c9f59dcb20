import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { limiterFor } from "../../src/platform/limiter/limiter-for";
import type { SendLimits } from "../../src/platform/limiter/limiter-types";
import type { PhoneLimiter } from "../../src/platform/limiter/phone-limiter";
import { advance } from "../helpers/setup";

const limits: SendLimits = {
  ttlMs: 300_000,
  cooldownMs: 30_000,
  maxSendsPerHour: 3,
  maxSendsPerNumberPerHour: 10,
  maxFailuresPerClient: 10,
  maxFailuresPerNumber: 100,
};
const send = (codeId: string, client = "198.51.100.1") => ({ codeId, client, limits });
const attempt = (codeId: string, matched: boolean, attemptId: string = crypto.randomUUID()) => ({
  codeId,
  attemptId,
  matched,
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
    await limiter.releaseSend("new");
    await limiter.releaseSend("new");
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
    await limiter.releaseSend("late-code");
    expect(await limiter.reserveSend(send("late-code"))).toEqual({ outcome: "cancelled" });
    expect(await limiter.newestLiveCode(5)).toBeNull();
    await limiter.reserveSend(send("c"));
    await limiter.undoAttempt("c", "late-right");
    expect(await limiter.recordAttempt(attempt("c", true, "late-right"))).toEqual({ outcome: "not_live" });
    await limiter.undoAttempt("c", "late-wrong");
    expect(await limiter.recordAttempt(attempt("c", false, "late-wrong"))).toEqual({ outcome: "not_live" });
    expect(await limiter.recordAttempt(attempt("c", true))).toEqual({ outcome: "verified" });
  });

  it("the cooldown and hourly limit are per client; the number has its own ceiling", async () => {
    const limiter = limiterFor(env.PHONE_LIMITER, "+919800000009");
    const few = { ...limits, maxSendsPerHour: 2, maxSendsPerNumberPerHour: 3 };
    expect(await limiter.reserveSend({ codeId: "s1", client: "stranger", limits: few })).toMatchObject({
      outcome: "reserved",
    });
    expect(await limiter.reserveSend({ codeId: "s2", client: "stranger", limits: few })).toMatchObject({
      outcome: "cooldown",
    });
    expect(await limiter.reserveSend({ codeId: "o1", client: "owner", limits: few })).toMatchObject({
      outcome: "reserved",
    });
    advance(31_000);
    expect(await limiter.reserveSend({ codeId: "s3", client: "stranger", limits: few })).toMatchObject({
      outcome: "reserved",
    });
    advance(31_000);
    expect(await limiter.reserveSend({ codeId: "s4", client: "stranger", limits: few })).toMatchObject({
      outcome: "hourly_limit",
    });
    expect(await limiter.reserveSend({ codeId: "o2", client: "owner", limits: few })).toMatchObject({
      outcome: "number_limit",
    });
  });

  it("undoAttempt takes back a right guess and a wrong one, once", async () => {
    const limiter = limiterFor(env.PHONE_LIMITER, "+919800000006");
    await limiter.reserveSend(send("c"));
    expect(await limiter.recordAttempt(attempt("c", false, "w1"))).toEqual({ outcome: "wrong", attemptsLeft: 4 });
    await limiter.undoAttempt("c", "w1");
    await limiter.undoAttempt("c", "w1");
    expect(await limiter.recordAttempt(attempt("c", false, "w2"))).toEqual({ outcome: "wrong", attemptsLeft: 4 });
    expect(await limiter.recordAttempt(attempt("c", true, "r1"))).toEqual({ outcome: "verified" });
    await limiter.undoAttempt("c", "r1");
    expect(await limiter.recordAttempt(attempt("c", true, "r2"))).toEqual({ outcome: "verified" });
  });

  it("wrong guesses lock new sends for the client that asked for the codes, not for other clients", async () => {
    const limiter = limiterFor(env.PHONE_LIMITER, "+919800000007");
    const tight = { ...limits, cooldownMs: 0, maxSendsPerHour: 100, maxFailuresPerClient: 3, maxFailuresPerNumber: 5 };
    await limiter.reserveSend({ codeId: "a1", client: "attacker", limits: tight });
    for (let i = 0; i < 3; i++) await limiter.recordAttempt(attempt("a1", false));
    expect(await limiter.reserveSend({ codeId: "a2", client: "attacker", limits: tight })).toMatchObject({
      outcome: "locked",
    });
    expect(await limiter.reserveSend({ codeId: "o1", client: "owner", limits: tight })).toMatchObject({
      outcome: "reserved",
    });
    // The number-wide ceiling stops new codes for everyone, but a code already sent still verifies.
    await limiter.reserveSend({ codeId: "b1", client: "other", limits: tight });
    for (let i = 0; i < 2; i++) await limiter.recordAttempt(attempt("b1", false));
    expect(await limiter.reserveSend({ codeId: "o2", client: "owner", limits: tight })).toMatchObject({
      outcome: "locked",
    });
    expect(await limiter.recordAttempt(attempt("o1", true))).toEqual({ outcome: "verified" });
    // Having signed in, the owner's network is no longer held by the number-wide ceiling, only by its own limit.
    expect(await limiter.reserveSend({ codeId: "o3", client: "owner", limits: tight })).toMatchObject({
      outcome: "reserved",
    });
    expect(await limiter.reserveSend({ codeId: "x1", client: "stranger", limits: tight })).toMatchObject({
      outcome: "locked",
    });
  });
});
