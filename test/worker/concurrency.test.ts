import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { LimiterState, PhoneLimiter } from "../../src/platform/limiter/phone-limiter";
import { sendOtp, uniquePhone, verifyOtp } from "../helpers/api";
import { setUpWorkerTest } from "../helpers/setup";

const fast2sms = setUpWorkerTest();

const wrong = (code: string) => code.replace(/\d/g, (d) => String((Number(d) + 1) % 10));

function limiterState(phone: string): Promise<LimiterState | undefined> {
  const stub = env.PHONE_LIMITER.getByName(phone);
  return runInDurableObject(stub, (_: PhoneLimiter, state) => state.storage.kv.get<LimiterState>("state"));
}

const tally = (statuses: string[]) =>
  statuses.reduce<Record<string, number>>((acc, s) => {
    acc[s] = (acc[s] ?? 0) + 1;
    return acc;
  }, {});

describe("concurrency", () => {
  it("20 concurrent verifies of the right code give exactly one success", async () => {
    const phone = uniquePhone();
    await sendOtp(phone);
    const code = fast2sms.lastCode();
    const results = await Promise.all(Array.from({ length: 20 }, () => verifyOtp(phone, code)));
    const outcomes = tally(results.map((r) => String(r.body.code ?? r.status)));
    expect(outcomes).toEqual({ "200": 1, otp_not_found: 19 });
  });

  it("30 concurrent wrong guesses are evaluated at most OTP_MAX_ATTEMPTS times", async () => {
    const phone = uniquePhone();
    await sendOtp(phone);
    const code = fast2sms.lastCode();
    const results = await Promise.all(Array.from({ length: 30 }, () => verifyOtp(phone, wrong(code))));
    const outcomes = tally(results.map((r) => String(r.body.code)));
    expect(outcomes).toEqual({ otp_invalid: 5, otp_not_found: 25 });
    const state = await limiterState(phone);
    expect(state?.codes[0]?.attempts).toBe(5);
    expect(state?.failures).toHaveLength(5);
    // And the right code is now refused too.
    expect((await verifyOtp(phone, code)).body.code).toBe("otp_not_found");
  });

  it("a right guess racing wrong ones is never accepted after the tries are spent", async () => {
    const phone = uniquePhone();
    await sendOtp(phone);
    const code = fast2sms.lastCode();
    const guesses = [...Array.from({ length: 12 }, () => wrong(code)), code];
    const results = await Promise.all(guesses.map((g) => verifyOtp(phone, g)));
    const right = results.at(-1)!;
    const wrongsBeforeRight = (await limiterState(phone))?.codes[0]?.attempts ?? 0;
    if (right.status === 200) expect(wrongsBeforeRight).toBeLessThan(5);
    else expect(right.body.code).toBe("otp_not_found");
    expect(results.filter((r) => r.body.code === "otp_invalid").length).toBeLessThanOrEqual(5);
  });

  it("10 concurrent sends to one number send exactly one SMS", async () => {
    const phone = uniquePhone();
    const results = await Promise.all(Array.from({ length: 10 }, () => sendOtp(phone)));
    expect(tally(results.map((r) => String(r.body.code ?? r.status)))).toEqual({ "200": 1, rate_limited: 9 });
    expect(fast2sms.requests).toHaveLength(1);
    expect((await limiterState(phone))?.sends).toHaveLength(1);
  });
});
