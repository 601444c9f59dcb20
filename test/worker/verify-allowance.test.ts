import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { QuotaCounter } from "../../src/platform/limiter/quota-counter";
import { envWith, uniquePhone, withEnv } from "../helpers/api";
import { faultyNamespace } from "../helpers/faulty-bindings";
import { captureConsole } from "../helpers/log-capture";
import { expectProblem } from "../helpers/problem";
import { advance, setUpWorkerTest } from "../helpers/setup";

/**
 * The client's verify allowance is held pending: a wrong guess confirms it
 * after the response, a right code (or a 503) lets it lapse by itself, 6 ×
 * STORAGE_TIMEOUT_MS after it was taken. Without verification ids
 * (OTP_REQUIRE_VERIFICATION_ID=false) the address's allowance alone decides,
 * with no id's own tries past it, so these tests see it unmasked.
 */
const fast2sms = setUpWorkerTest();

const STORAGE_TIMEOUT_MS = 5000;
const LAPSE_MS = 6 * STORAGE_TIMEOUT_MS;
const HOUR_MS = 3_600_000;
const base = {
  OTP_REQUIRE_VERIFICATION_ID: "false",
  STORAGE_TIMEOUT_MS: String(STORAGE_TIMEOUT_MS),
  OTP_MAX_ATTEMPTS: "10",
};

const wrongCode = (code: string) => (code === "000000" ? "111111" : "000000");
const headers = (ip: string) => ({ "cf-connecting-ip": ip });

/** The test environment with these settings; its QUOTA_COUNTER replaced when `quotas` is given. */
function app(settings: Record<string, string>, quotas?: DurableObjectNamespace<QuotaCounter>) {
  const environment = envWith({ ...base, ...settings, ...(quotas ? { QUOTA_COUNTER: quotas } : {}) });
  return {
    send: async (phone: string, ip: string) => {
      const res = await withEnv(environment, "/send-otp", { json: { phone }, headers: headers(ip) });
      expect(res.status).toBe(200);
      return fast2sms.codeTo(phone);
    },
    verify: (phone: string, otp: string, ip: string) =>
      withEnv(environment, "/verify-otp", { json: { phone, otp }, headers: headers(ip) }),
  };
}

/** The verifies that count now under the client's key: pending ones until they lapse, confirmed ones for the hour. */
const counting = (ip: string) =>
  runInDurableObject(env.QUOTA_COUNTER.getByName(`verify:${ip}`), (_: QuotaCounter, state) => {
    const now = Date.now();
    return state.storage.sql
      .exec<{ n: number }>(
        "SELECT count(*) AS n FROM quota_hits WHERE at > ? AND (lapses_at IS NULL OR lapses_at > ?)",
        now - HOUR_MS,
        now,
      )
      .one().n;
  });

/** QUOTA_COUNTER with `confirm` replaced by `confirm(real)`; every other call passed through. */
function withConfirm(
  confirm: (real: () => Promise<unknown>) => Promise<unknown>,
): DurableObjectNamespace<QuotaCounter> {
  const wrap = (stub: DurableObjectStub<QuotaCounter>) =>
    new Proxy(stub as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>, {
      get(target, prop: string) {
        const real = (...args: unknown[]) => target[prop]!(...args);
        return prop === "confirm" ? (...args: unknown[]) => confirm(() => real(...args)) : real;
      },
    });
  const ns = env.QUOTA_COUNTER;
  return {
    getByName: (name: string) => wrap(ns.getByName(name)),
    get: (id: DurableObjectId) => wrap(ns.get(id)),
    idFromName: (name: string) => ns.idFromName(name),
  } as unknown as DurableObjectNamespace<QuotaCounter>;
}

describe("the verify allowance lapses unless a wrong guess confirms it", () => {
  it("right codes never use it up: each holds its slot only until it lapses", async () => {
    const { send, verify } = app({ OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "1" });
    const ip = "198.51.100.150";
    const phones = [uniquePhone(), uniquePhone(), uniquePhone(), uniquePhone()];
    const codes: string[] = [];
    for (const phone of phones) codes.push(await send(phone, ip));
    expect((await verify(phones[0]!, codes[0]!, ip)).status).toBe(200);
    // Pending, the right code's verify still holds the one slot, and says when it lapses.
    const held = await verify(phones[1]!, codes[1]!, ip);
    expectProblem(held, 429, "rate_limited");
    expect(Number(held.headers.get("retry-after"))).toBeLessThanOrEqual(LAPSE_MS / 1000);
    for (let i = 1; i < phones.length; i++) {
      advance(LAPSE_MS);
      expect(await counting(ip)).toBe(0);
      expect((await verify(phones[i]!, codes[i]!, ip)).status).toBe(200);
    }
  });

  it("wrong guesses use it up, and keep counting for the whole hour", async () => {
    const { send, verify } = app({ OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "2" });
    const ip = "198.51.100.151";
    const phone = uniquePhone();
    const code = await send(phone, ip);
    expectProblem(await verify(phone, wrongCode(code), ip), 400, "otp_invalid");
    expectProblem(await verify(phone, wrongCode(code), ip), 400, "otp_invalid");
    advance(2 * LAPSE_MS);
    expect(await counting(ip)).toBe(2);
    const refused = await verify(phone, code, ip);
    expectProblem(refused, 429, "rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan((HOUR_MS - 3 * LAPSE_MS) / 1000);
    advance(HOUR_MS - 3 * LAPSE_MS);
    expectProblem(await verify(phone, code, ip), 429, "rate_limited");
    advance(2 * LAPSE_MS);
    expect(await counting(ip)).toBe(0);
    const next = uniquePhone();
    expect((await verify(next, await send(next, ip), ip)).status).toBe(200);
  });

  it("a burst of concurrent verifies cannot pass the limit: pending holds count", async () => {
    const { send, verify } = app({ OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "3" });
    const ip = "198.51.100.152";
    const phones = Array.from({ length: 10 }, () => uniquePhone());
    const codes: string[] = [];
    for (const phone of phones) codes.push(await send(phone, ip));
    // Right codes and wrong ones alike: each is a verify the allowance has to decide before any is settled.
    const burst = (indexes: number[]) =>
      Promise.all(indexes.map((i) => verify(phones[i]!, i % 2 === 0 ? codes[i]! : wrongCode(codes[i]!), ip)));
    const first = await burst([...phones.keys()]);
    const passed = first.flatMap((res, i) => (res.body.code === "rate_limited" ? [] : [i]));
    expect(passed).toHaveLength(3);
    // Once the right codes' holds lapse, only they free their slots.
    advance(LAPSE_MS);
    const rightOnes = passed.filter((i) => i % 2 === 0).length;
    const rest = [...phones.keys()].filter((i) => !passed.includes(i));
    const second = await burst(rest);
    expect(second.filter((res) => res.body.code !== "rate_limited")).toHaveLength(rightOnes);
  });

  it("a confirm that arrives after the lapse still counts the wrong guess", async () => {
    const lateConfirm = withConfirm((real) => {
      // The confirm reaches the counter only after the hold has lapsed.
      advance(LAPSE_MS + 1000);
      return real();
    });
    const late = app({ OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "1" }, lateConfirm);
    const ip = "198.51.100.153";
    const phone = uniquePhone();
    const code = await late.send(phone, ip);
    expectProblem(await late.verify(phone, wrongCode(code), ip), 400, "otp_invalid");
    expect(await counting(ip)).toBe(1);
    const refused = await app({ OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "1" }).verify(phone, code, ip);
    expectProblem(refused, 429, "rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan((HOUR_MS - 2 * LAPSE_MS) / 1000);
  });

  it("a confirm that fails (and fails again on its retry) fails open for that one guess, and says so in the log", async () => {
    const logs = captureConsole();
    let tries = 0;
    const broken = withConfirm(() => {
      tries++;
      return Promise.reject(new Error("internal error"));
    });
    const { send, verify } = app({ OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "1" }, broken);
    const ip = "198.51.100.154";
    const phone = uniquePhone();
    const code = await send(phone, ip);
    // The answer is the guess's, whatever became of its confirm.
    expectProblem(await verify(phone, wrongCode(code), ip), 400, "otp_invalid");
    expect(tries).toBe(2);
    expect(logs.events("otp.verify_confirm_failed")).toHaveLength(1);
    // Pending, it still holds the slot; once lapsed, the guess is not counted by the client's allowance.
    expectProblem(await verify(phone, wrongCode(code), ip), 429, "rate_limited");
    advance(LAPSE_MS);
    expect(await counting(ip)).toBe(0);
    expectProblem(await verify(phone, wrongCode(code), ip), 400, "otp_invalid");
  });

  it("an outage counts nothing: the verify's hold lapses with no call to give it back", async () => {
    const limiters = faultyNamespace(env.PHONE_LIMITER, { recordAttempt: new Error("internal error") });
    const settings = { OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "1" };
    const ip = "198.51.100.155";
    const phone = uniquePhone();
    const code = await app(settings).send(phone, ip);
    const calls: string[] = [];
    const counted = withConfirm((real) => {
      calls.push("confirm");
      return real();
    });
    const outage = envWith({ ...base, ...settings, PHONE_LIMITER: limiters, QUOTA_COUNTER: counted });
    expectProblem(
      await withEnv(outage, "/verify-otp", { json: { phone, otp: wrongCode(code) }, headers: headers(ip) }),
      503,
      "unavailable",
    );
    expect(calls).toEqual([]);
    advance(LAPSE_MS);
    expect(await counting(ip)).toBe(0);
    expect((await app(settings).verify(phone, code, ip)).status).toBe(200);
  });
});
