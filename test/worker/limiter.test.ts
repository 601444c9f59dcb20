import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { limiterFor } from "../../src/limiter/limiter-for";
import type { PhoneLimiter } from "../../src/limiter/phone-limiter";

const sendLimits = { ttlMs: 300_000, cooldownMs: 30_000, maxSendsPerHour: 3, maxFailuresPerDay: 10 };
const attemptLimits = { maxAttempts: 5, maxFailuresPerDay: 10 };

afterEach(() => vi.useRealTimers());

function advance(ms: number): void {
  vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + ms });
}

const keysIn = (name: string) =>
  runInDurableObject(env.PHONE_LIMITER.getByName(name), (_: PhoneLimiter, state) => [...state.storage.kv.list()].length);

describe("PhoneLimiter storage", () => {
  it("schedules an alarm that deletes everything once nothing can matter", async () => {
    const name = "+919800000001";
    const limiter = limiterFor(env.PHONE_LIMITER, name);
    const sent = await limiter.reserveSend(sendLimits);
    if (!sent.ok) throw new Error("send refused");
    expect(await limiter.recordAttempt(sent.codeId, false, attemptLimits)).toEqual({ outcome: "wrong", attemptsLeft: 4 });
    expect(await keysIn(name)).toBe(1);

    // After an hour the send no longer counts, but the failure still does: state is kept.
    advance(2 * 3600_000);
    expect(await runDurableObjectAlarm(env.PHONE_LIMITER.getByName(name))).toBe(true);
    expect(await keysIn(name)).toBe(1);

    // After 24 hours nothing is left, not even the alarm.
    advance(23 * 3600_000);
    expect(await runDurableObjectAlarm(env.PHONE_LIMITER.getByName(name))).toBe(true);
    expect(await keysIn(name)).toBe(0);
    expect(await runDurableObjectAlarm(env.PHONE_LIMITER.getByName(name))).toBe(false);
  });

  it("ignores a guess for a code id that is not current", async () => {
    const limiter = limiterFor(env.PHONE_LIMITER, "+919800000002");
    const first = await limiter.reserveSend(sendLimits);
    advance(31_000);
    const second = await limiter.reserveSend(sendLimits);
    if (!first.ok || !second.ok) throw new Error("send refused");
    expect(await limiter.recordAttempt(first.codeId, true, attemptLimits)).toEqual({ outcome: "none" });
    expect(await limiter.recordAttempt(second.codeId, true, attemptLimits)).toEqual({ outcome: "verified" });
  });

  it("a cancelled code cannot be verified, and its send still counts", async () => {
    const limiter = limiterFor(env.PHONE_LIMITER, "+919800000003");
    const sent = await limiter.reserveSend(sendLimits);
    if (!sent.ok) throw new Error("send refused");
    await limiter.cancelCode(sent.codeId);
    expect(await limiter.pendingCode(attemptLimits)).toEqual({ outcome: "none" });
    expect(await limiter.recordAttempt(sent.codeId, true, attemptLimits)).toEqual({ outcome: "none" });
    expect(await limiter.reserveSend(sendLimits)).toMatchObject({ ok: false, reason: "cooldown" });
  });
});
