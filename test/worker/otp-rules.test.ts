import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { lastVerificationId, sendOtp, uniquePhone, verifyOtp } from "../helpers/api";
import { expectProblem } from "../helpers/problem";
import { advance, setUpWorkerTest } from "../helpers/setup";

const fast2sms = setUpWorkerTest();

/** A wrong code for `code`: same length, different digits. */
const wrong = (code: string) => code.replace(/\d/g, (d) => String((Number(d) + 1) % 10));

async function sendAndGetCode(phone: string): Promise<string> {
  const res = await sendOtp(phone);
  expect(res.status).toBe(200);
  return fast2sms.lastCode();
}

describe("code rules", () => {
  it("refuses a code after its lifetime with the one otp_not_found answer, even the right one", async () => {
    const phone = uniquePhone();
    const code = await sendAndGetCode(phone);
    advance(301_000);
    expectProblem(await verifyOtp(phone, code), 404, "otp_not_found");
  });

  it("accepts the right code just before expiry", async () => {
    const phone = uniquePhone();
    const code = await sendAndGetCode(phone);
    advance(295_000);
    expect((await verifyOtp(phone, code)).status).toBe(200);
  });

  it("is single use: the same code a second time finds no pending code", async () => {
    const phone = uniquePhone();
    const code = await sendAndGetCode(phone);
    expect((await verifyOtp(phone, code)).status).toBe(200);
    expectProblem(await verifyOtp(phone, code), 404, "otp_not_found");
  });

  it("counts down attempts_left and then refuses even the right code", async () => {
    const phone = uniquePhone();
    const code = await sendAndGetCode(phone);
    for (let left = 4; left >= 0; left--) {
      const res = await verifyOtp(phone, wrong(code));
      expectProblem(res, 400, "otp_invalid");
      expect(res.body.attempts_left).toBe(left);
    }
    expectProblem(await verifyOtp(phone, code), 404, "otp_not_found");
  });

  it("a new code leaves the older one live under its own verification_id", async () => {
    const phone = uniquePhone();
    const first = await sendAndGetCode(phone);
    const firstId = lastVerificationId(phone);
    advance(31_000);
    const second = await sendAndGetCode(phone);
    expect((await verifyOtp(phone, first, firstId)).status).toBe(200);
    expect((await verifyOtp(phone, second)).status).toBe(200);
  });

  it("a code is checked only under its own id (the hash is bound to the code id)", async () => {
    const phone = uniquePhone();
    const first = await sendAndGetCode(phone);
    const firstId = lastVerificationId(phone);
    advance(31_000);
    const second = await sendAndGetCode(phone);
    const keys = (await env.OTP_KV.list({ prefix: `otp:${phone}:` })).keys;
    expect(keys).toHaveLength(2);
    if (first !== second) {
      expectProblem(await verifyOtp(phone, first), 400, "otp_invalid");
      expectProblem(await verifyOtp(phone, second, firstId), 400, "otp_invalid");
    }
  });

  it("locks the number after OTP_MAX_FAILURES_PER_DAY wrong tries, across new codes, until the window passes", async () => {
    const phone = uniquePhone();
    let failures = 0;
    // Two codes with 5 wrong tries each = 10 failures: new codes do not reset the count.
    for (let round = 0; round < 2; round++) {
      if (round > 0) advance(31_000 * round);
      const code = await sendAndGetCode(phone);
      for (let i = 0; i < 5; i++) {
        const res = await verifyOtp(phone, wrong(code));
        expectProblem(res, 400, "otp_invalid");
        failures++;
      }
    }
    expect(failures).toBe(10);
    // Locked: no new code is even sent.
    advance(31_000 * 3);
    const sendsBefore = fast2sms.requests.length;
    const locked = await sendOtp(phone);
    expectProblem(locked, 429, "too_many_attempts");
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(23 * 3600);
    expect(fast2sms.requests.length).toBe(sendsBefore);
    // After 24 hours the number works again.
    advance(24 * 3600_000 + 31_000 * 3);
    const code = await sendAndGetCode(phone);
    expect((await verifyOtp(phone, code)).status).toBe(200);
  });

  it("the lock stops new codes only: a code sent before it keeps its own tries and still verifies", async () => {
    const phone = uniquePhone();
    const code = await sendAndGetCode(phone);
    for (let i = 0; i < 4; i++) await verifyOtp(phone, wrong(code));
    advance(31_000);
    const second = await sendAndGetCode(phone);
    for (let i = 0; i < 5; i++) await verifyOtp(phone, wrong(second));
    advance(62_000);
    const third = await sendAndGetCode(phone);
    const tenth = await verifyOtp(phone, wrong(third));
    expectProblem(tenth, 400, "otp_invalid");
    expect(tenth.body.attempts_left).toBe(4);
    advance(31_000);
    const refused = await sendOtp(phone);
    expectProblem(refused, 429, "too_many_attempts");
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect((await verifyOtp(phone, third)).status).toBe(200);
  });
});

describe("send limits", () => {
  it("enforces the resend cooldown with Retry-After", async () => {
    const phone = uniquePhone();
    await sendAndGetCode(phone);
    advance(10_000);
    const res = await sendOtp(phone);
    expectProblem(res, 429, "rate_limited");
    expect(res.headers.get("retry-after")).toBe("20");
    expect(fast2sms.requests).toHaveLength(1);
    advance(30_000);
    expect((await sendOtp(phone)).status).toBe(200);
  });

  it("enforces OTP_MAX_SENDS_PER_HOUR with Retry-After until the oldest send ages out", async () => {
    const phone = uniquePhone();
    for (let i = 0; i < 3; i++) {
      if (i > 0) advance(60_000);
      expect((await sendOtp(phone)).status).toBe(200);
    }
    advance(60_000);
    const res = await sendOtp(phone);
    expectProblem(res, 429, "rate_limited");
    expect(Number(res.headers.get("retry-after"))).toBe(3600 - 180);
    expect(fast2sms.requests).toHaveLength(3);
    advance(3600_000 - 180_000 + 1000);
    expect((await sendOtp(phone)).status).toBe(200);
  });
});
