import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { HASH_HELD_MS, type LimiterState } from "../../src/platform/limiter/phone-limiter";
import { callWith, lastVerificationId, uniquePhone } from "../helpers/api";
import { faultyKv, faultyNamespace, overloaded } from "../helpers/faulty-bindings";
import { expectProblem } from "../helpers/problem";
import { advance, setUpWorkerTest } from "../helpers/setup";

const fast2sms = setUpWorkerTest();

const send = (settings: Record<string, unknown>, phone: string) =>
  callWith(settings, "/send-otp", { json: { phone }, headers: { "cf-connecting-ip": "203.0.113.99" } });
const verify = (settings: Record<string, unknown>, phone: string, otp: string) =>
  callWith(settings, "/verify-otp", { json: { phone, otp, verification_id: lastVerificationId(phone) } });

const state = (phone: string) =>
  runInDurableObject(env.PHONE_LIMITER.getByName(phone), (_, s) => s.storage.kv.get<LimiterState>("state"));

function expectUnavailable(res: Awaited<ReturnType<typeof send>>) {
  expectProblem(res, 503, "unavailable");
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(JSON.stringify(res.body)).not.toMatch(/kv|durable|overloaded/i);
}

describe("storage faults on send: 503 unavailable, no SMS, nothing left", () => {
  it("KV put throws", async () => {
    const phone = uniquePhone();
    expectUnavailable(await send({ OTP_KV: faultyKv({ put: new Error("KV PUT failed: 500") }) }, phone));
    expect(fast2sms.requests).toHaveLength(0);
    // Everything the request took was given back: no code, no send counted, so a retry works at once.
    const left = await state(phone);
    expect(left?.codes ?? []).toHaveLength(0);
    expect(left?.sends ?? []).toHaveLength(0);
    expect((await send({}, phone)).status).toBe(200);
  });

  it("KV put never answers (STORAGE_TIMEOUT_MS)", async () => {
    const started = Date.now();
    expectUnavailable(await send({ OTP_KV: faultyKv({ put: "hang" }), STORAGE_TIMEOUT_MS: "200" }, uniquePhone()));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(fast2sms.requests).toHaveLength(0);
  });

  it("the number's Durable Object is overloaded", async () => {
    const limiters = faultyNamespace(env.PHONE_LIMITER, { reserveSend: overloaded() });
    expectUnavailable(await send({ PHONE_LIMITER: limiters }, uniquePhone()));
    expect(fast2sms.requests).toHaveLength(0);
  });

  it("the number's Durable Object never answers", async () => {
    const limiters = faultyNamespace(env.PHONE_LIMITER, { reserveSend: "hang" });
    expectUnavailable(await send({ PHONE_LIMITER: limiters, STORAGE_TIMEOUT_MS: "200" }, uniquePhone()));
    expect(fast2sms.requests).toHaveLength(0);
  });

  it("the quota counter throws; the number's reservation is given back", async () => {
    const phone = uniquePhone();
    const quotas = faultyNamespace(env.QUOTA_COUNTER, { takeAll: new Error("internal error") });
    expectUnavailable(await send({ QUOTA_COUNTER: quotas }, phone));
    expect(fast2sms.requests).toHaveLength(0);
    expect((await send({}, phone)).status).toBe(200);
  });
});

describe("storage faults on verify: 503 unavailable, the guess not counted", () => {
  it("KV get throws (a code older than the object's copy of its hash, so KV is read)", async () => {
    const phone = uniquePhone();
    await send({}, phone);
    const code = fast2sms.lastCode();
    advance(HASH_HELD_MS + 1000);
    expectUnavailable(await verify({ OTP_KV: faultyKv({ get: new Error("KV GET failed") }) }, phone, code));
    expect((await state(phone))?.codes[0]?.attempts).toBe(0);
    expect((await verify({}, phone, code)).status).toBe(200);
  });

  it("the Durable Object throws while recording the guess", async () => {
    const phone = uniquePhone();
    await send({}, phone);
    const code = fast2sms.lastCode();
    const limiters = faultyNamespace(env.PHONE_LIMITER, { recordAttempt: overloaded() });
    expectUnavailable(await verify({ PHONE_LIMITER: limiters }, phone, code));
    expect((await verify({}, phone, code)).status).toBe(200);
  });

  it("the Durable Object never answers", async () => {
    const phone = uniquePhone();
    await send({}, phone);
    const code = fast2sms.lastCode();
    const limiters = faultyNamespace(env.PHONE_LIMITER, { recordAttempt: "hang" });
    expectUnavailable(await verify({ PHONE_LIMITER: limiters, STORAGE_TIMEOUT_MS: "200" }, phone, code));
    expect((await verify({}, phone, code)).status).toBe(200);
  });
});

describe("SMS fault after storage succeeded", () => {
  it("drops the code in the Durable Object even when the KV delete fails", async () => {
    const phone = uniquePhone();
    fast2sms.respond({ status: 500, body: "{}" });
    expectProblem(
      await send({ OTP_KV: faultyKv({ delete: new Error("KV DELETE failed") }) }, phone),
      502,
      "sms_failed",
    );
    expect((await state(phone))?.codes ?? []).toHaveLength(0);
    const res = await callWith({ OTP_REQUIRE_VERIFICATION_ID: "false" }, "/verify-otp", {
      json: { phone, otp: fast2sms.lastCode() },
    });
    expectProblem(res, 404, "otp_not_found");
  });
});
