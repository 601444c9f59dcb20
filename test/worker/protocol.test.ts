import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { budgetUsed } from "../../src/domain/guards/send-quotas";
import app from "../../src/index";
import type { LimiterState } from "../../src/platform/limiter/phone-limiter";
import { type ApiResponse, BASE, callWith, lastVerificationId, uniquePhone } from "../helpers/api";
import { refused } from "../helpers/fake-fast2sms";
import { faultyKv, faultyNamespace } from "../helpers/faulty-bindings";
import { expectProblem } from "../helpers/problem";
import { roundTripCounter } from "../helpers/round-trips";
import { advance, setClock, setUpWorkerTest } from "../helpers/setup";

/**
 * The attacks on the send and verify protocol by someone who knows only the victim's number:
 * kill the owner's code with a refused or failed resend, spend its tries or
 * lock the number with foreign guesses, read the number's state from verify,
 * or leave half-done state behind a storage timeout.
 */
const fast2sms = setUpWorkerTest();

const OWNER_IP = "198.51.100.10";
const ATTACKER_IP = "203.0.113.66";

const send = (settings: Record<string, unknown>, phone: string, ip = OWNER_IP) =>
  callWith(settings, "/send-otp", { json: { phone }, headers: { "cf-connecting-ip": ip } });

const verify = (settings: Record<string, unknown>, body: Record<string, unknown>, ip = OWNER_IP) =>
  callWith(settings, "/verify-otp", { json: body, headers: { "cf-connecting-ip": ip } });

/** The owner asks for a code and gets it by SMS; returns what the owner's app holds. */
async function ownerGetsCode(settings: Record<string, unknown> = {}) {
  const phone = uniquePhone();
  const sent = await send(settings, phone);
  expect(sent.status).toBe(200);
  return { phone, otp: fast2sms.lastCode(), verification_id: lastVerificationId(phone) };
}

const limiterState = (phone: string) =>
  runInDurableObject(env.PHONE_LIMITER.getByName(phone), (_, state) => state.storage.kv.get<LimiterState>("state"));

const quotaHits = (key: string) =>
  runInDurableObject(env.QUOTA_COUNTER.getByName(key), (_, state) => {
    state.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS quota_hits (ticket TEXT PRIMARY KEY, at INTEGER NOT NULL, window_ms INTEGER NOT NULL)",
    );
    return state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM quota_hits").one().n;
  });

/** A verification_id of the right shape that no send made. */
const randomId = () =>
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

describe("a refused or failed resend harms nothing", () => {
  it("refused by the stranger's client quota: the owner's code still verifies", async () => {
    const settings = { OTP_MAX_SENDS_PER_IP_PER_HOUR: "1" };
    const owner = await ownerGetsCode(settings);
    advance(31_000);
    expect((await send(settings, uniquePhone(), ATTACKER_IP)).status).toBe(200);
    expectProblem(await send(settings, owner.phone, ATTACKER_IP), 429, "rate_limited");
    expect((await verify(settings, owner)).status).toBe(200);
  });

  it("refused by the day's budget: the owner's code still verifies", async () => {
    setClock(Date.UTC(2032, 0, 10, 9, 0, 0));
    const settings = { SMS_DAILY_BUDGET: "1" };
    const owner = await ownerGetsCode(settings);
    advance(31_000);
    expectProblem(await send(settings, owner.phone, ATTACKER_IP), 503, "sms_budget_exhausted");
    expect((await verify(settings, owner)).status).toBe(200);
  });

  it.each([
    ["Fast2SMS error 995 (repeated messages)", refused(400, 995)],
    ["HTTP 500", { status: 500, body: "{}" }],
    ["a timeout", { hang: true as const }],
  ])("failed at the gateway (%s): the owner's code still verifies", async (_, reply) => {
    const owner = await ownerGetsCode();
    advance(31_000);
    fast2sms.respond(reply);
    expectProblem(await send({}, owner.phone, ATTACKER_IP), 502, "sms_failed");
    expect((await verify({}, owner)).status).toBe(200);
  });
});

describe("a stranger's sends do not hold the owner back", () => {
  it("a flood of sends refused by the stranger's own quota never puts the number in a cooldown", async () => {
    const settings = { OTP_MAX_SENDS_PER_IP_PER_HOUR: "1" };
    await send(settings, uniquePhone(), ATTACKER_IP);
    const phone = uniquePhone();
    const flood = Array.from({ length: 30 }, () => send(settings, phone, ATTACKER_IP));
    const owner = send(settings, phone, "198.51.100.201");
    const [answers, mine] = await Promise.all([Promise.all(flood), owner]);
    for (const res of answers) expectProblem(res, 429, "rate_limited");
    expect(mine.status).toBe(200);
  });

  it("a flood of sends refused by the stranger's own quota never holds a unit of the day's budget", async () => {
    setClock(Date.UTC(2034, 0, 5, 9, 0, 0));
    const settings = { OTP_MAX_SENDS_PER_IP_PER_HOUR: "1", SMS_DAILY_BUDGET: "3", SMS_BUDGET_SHARDS: "1" };
    const attacker = "203.0.113.166";
    expect((await send(settings, uniquePhone(), attacker)).status).toBe(200);
    const flood = Array.from({ length: 40 }, () => send(settings, uniquePhone(), attacker));
    const owners = [send(settings, uniquePhone(), "198.51.100.211"), send(settings, uniquePhone(), "198.51.100.212")];
    const [answers, mine] = await Promise.all([Promise.all(flood), Promise.all(owners)]);
    for (const res of answers) expectProblem(res, 429, "rate_limited");
    expect(mine.map((r) => [r.status, r.body.detail])).toEqual([
      [200, undefined],
      [200, undefined],
    ]);
  });

  it("a stranger whose quota is spent learns nothing about the number: idle and busy numbers answer the same", async () => {
    const settings = { OTP_MAX_SENDS_PER_IP_PER_HOUR: "1" };
    await send(settings, uniquePhone(), ATTACKER_IP);
    const busy = { phone: uniquePhone() };
    expect((await send(settings, busy.phone, "198.51.100.202")).status).toBe(200);
    const strip = (res: ApiResponse) => ({ status: res.status, detail: res.body.detail, code: res.body.code });
    const probeBusy = await send(settings, busy.phone, ATTACKER_IP);
    const probeIdle = await send(settings, uniquePhone(), ATTACKER_IP);
    expect(strip(probeBusy)).toEqual(strip(probeIdle));
  });

  it("a stranger's sends to the number do not use up the owner's cooldown or hourly limit", async () => {
    const phone = uniquePhone();
    for (let i = 0; i < 3; i++) {
      if (i > 0) advance(31_000);
      expect((await send({}, phone, ATTACKER_IP)).status).toBe(200);
    }
    expectProblem(await send({}, phone, ATTACKER_IP), 429, "rate_limited");
    expect((await send({}, phone)).status).toBe(200);
  });

  it("the number-wide ceiling (OTP_MAX_SENDS_PER_NUMBER_PER_HOUR) bounds the SMS one phone gets from many networks", async () => {
    const settings = { OTP_MAX_SENDS_PER_NUMBER_PER_HOUR: "4" };
    const phone = uniquePhone();
    for (let i = 0; i < 4; i++) expect((await send(settings, phone, `192.0.2.${40 + i}`)).status).toBe(200);
    const res = await send(settings, phone, "192.0.2.50");
    expectProblem(res, 429, "rate_limited");
    expect(res.body.detail).toMatch(/^This number has been sent too many codes in the last hour/);
    expect(fast2sms.requests).toHaveLength(4);
  });
});

describe("a client that signed in to the number recently", () => {
  it("is not held back by strangers filling the number-wide send ceiling", async () => {
    const settings = { OTP_MAX_SENDS_PER_NUMBER_PER_HOUR: "4" };
    const ownerIp = "198.51.100.230";
    const phone = uniquePhone();
    expect((await send(settings, phone, ownerIp)).status).toBe(200);
    const owner = { phone, otp: fast2sms.lastCode(), verification_id: lastVerificationId(phone) };
    expect((await verify(settings, owner, ownerIp)).status).toBe(200);
    advance(3_600_000);
    for (let i = 0; i < 4; i++) expect((await send(settings, phone, `192.0.2.${60 + i}`)).status).toBe(200);
    expectProblem(await send(settings, phone, "192.0.2.70"), 429, "rate_limited");
    expect((await send(settings, phone, ownerIp)).status).toBe(200);
  });
});

describe("foreign guesses change nothing", () => {
  it("50 concurrent guesses with no id, random ids and another number's id: the owner still signs in, the number is not locked", async () => {
    const owner = await ownerGetsCode();
    const other = await ownerGetsCode();
    const guesses = Array.from({ length: 50 }, (_, i) => {
      const otp = String(100000 + i);
      switch (i % 3) {
        case 0:
          return { phone: owner.phone, otp };
        case 1:
          return { phone: owner.phone, otp, verification_id: randomId() };
        default:
          return { phone: owner.phone, otp, verification_id: other.verification_id };
      }
    });
    const answers = await Promise.all(guesses.map((g, i) => verify({}, g, `203.0.113.${i}`)));
    for (const [i, res] of answers.entries()) {
      if (i % 3 === 0) expectProblem(res, 400, "invalid_request");
      else expectProblem(res, 404, "otp_not_found");
      expect(res.body).not.toHaveProperty("attempts_left");
    }
    const state = await limiterState(owner.phone);
    expect(state?.failures ?? []).toHaveLength(0);
    expect(state?.codes[0]?.attempts).toBe(0);
    expect((await verify({}, owner)).status).toBe(200);
    advance(31_000);
    expect((await send({}, owner.phone)).status).toBe(200);
  });

  it("a stranger's own codes lock only the stranger: the owner still gets and uses codes", async () => {
    const settings = { OTP_RESEND_COOLDOWN_SECONDS: "0", OTP_MAX_SENDS_PER_HOUR: "10" };
    const phone = uniquePhone();
    // The stranger asks for codes for the victim's number and spends every try of each.
    for (let round = 0; round < 2; round++) {
      expect((await send(settings, phone, ATTACKER_IP)).status).toBe(200);
      const id = lastVerificationId(phone);
      for (let i = 0; i < 5; i++)
        expectProblem(
          await verify(settings, { phone, otp: "000000", verification_id: id }, ATTACKER_IP),
          400,
          "otp_invalid",
        );
    }
    expectProblem(await send(settings, phone, ATTACKER_IP), 429, "too_many_attempts");
    // The owner, on another network, is not affected.
    expect((await send(settings, phone)).status).toBe(200);
    const code = fast2sms.lastCode();
    expect((await verify(settings, { phone, otp: code, verification_id: lastVerificationId(phone) })).status).toBe(200);
  });

  it("OTP_REQUIRE_VERIFICATION_ID=false: an old app's verify without the id checks the newest live code", async () => {
    const settings = { OTP_REQUIRE_VERIFICATION_ID: "false" };
    const owner = await ownerGetsCode(settings);
    expect((await verify(settings, { phone: owner.phone, otp: owner.otp })).status).toBe(200);
  });

  it("OTP_REQUIRE_VERIFICATION_ID=false: a stranger's wrong guesses without an id are the stranger's failures, not the owner's", async () => {
    const settings = {
      OTP_REQUIRE_VERIFICATION_ID: "false",
      OTP_RESEND_COOLDOWN_SECONDS: "0",
      OTP_MAX_SENDS_PER_HOUR: "10",
    };
    const phone = uniquePhone();
    for (let round = 0; round < 2; round++) {
      expect((await send(settings, phone)).status).toBe(200);
      for (let i = 0; i < 5; i++) await verify(settings, { phone, otp: "000000" }, ATTACKER_IP);
    }
    const state = await limiterState(phone);
    expect(state?.failures.map((f) => f.client)).toEqual(Array(10).fill(ATTACKER_IP));
    expect((await send(settings, phone)).status).toBe(200);
  });
});

describe("verify tells a stranger nothing about the number", () => {
  const strip = (res: ApiResponse) => ({
    status: res.status,
    body: { ...res.body, request_id: undefined },
    retryAfter: res.headers.get("retry-after"),
  });

  it("a random id gets the same answer whether the number has no code, a live one, an expired one, a spent one or a used one", async () => {
    const guess = (phone: string) => verify({}, { phone, otp: "123456", verification_id: randomId() }, ATTACKER_IP);
    const never = strip(await guess(uniquePhone()));
    const live = await ownerGetsCode();
    const expired = await ownerGetsCode();
    const spent = await ownerGetsCode();
    for (let i = 0; i < 5; i++) await verify({}, { ...spent, otp: spent.otp === "000000" ? "111111" : "000000" });
    const used = await ownerGetsCode();
    expect((await verify({}, used)).status).toBe(200);
    expect(strip(await guess(live.phone))).toEqual(never);
    expect(strip(await guess(spent.phone))).toEqual(never);
    expect(strip(await guess(used.phone))).toEqual(never);
    advance(301_000);
    expect(strip(await guess(expired.phone))).toEqual(never);
    // The dead codes' own ids answer exactly the same.
    expect(strip(await verify({}, expired))).toEqual(never);
    expect(strip(await verify({}, spent))).toEqual(never);
    expect(strip(await verify({}, used))).toEqual(never);
    expect(never.status).toBe(404);
  });
});

describe("a storage call that commits after its deadline: 503, then nothing counted and nothing killed", () => {
  const slow = { STORAGE_TIMEOUT_MS: "100" };

  it("send: the number's object commits late", async () => {
    const owner = await ownerGetsCode();
    advance(31_000);
    const limiters = faultyNamespace(env.PHONE_LIMITER, { reserveSend: { late: 300 } });
    expectProblem(await send({ ...slow, PHONE_LIMITER: limiters }, owner.phone), 503, "unavailable");
    const state = await limiterState(owner.phone);
    expect(state?.sends).toHaveLength(1);
    expect(state?.codes.map((c) => c.id)).toEqual([owner.verification_id]);
    expect(fast2sms.requests).toHaveLength(1);
    // A retry is not refused by a cooldown the 503 left behind, and the first code still works.
    expect((await send({}, owner.phone)).status).toBe(200);
    expect((await verify({}, owner)).status).toBe(200);
  });

  it("send: the client quota and the budget commit late", async () => {
    setClock(Date.UTC(2032, 1, 3, 9, 0, 0));
    const ip = "192.0.2.77";
    const quotas = faultyNamespace(env.QUOTA_COUNTER, { takeAll: { late: 300 } });
    const budgets = faultyNamespace(env.BUDGET_SHARD, { take: { late: 300 } });
    expectProblem(
      await send({ ...slow, QUOTA_COUNTER: quotas, BUDGET_SHARD: budgets }, uniquePhone(), ip),
      503,
      "unavailable",
    );
    // Wait for the late takes to land and be given back.
    await new Promise((r) => setTimeout(r, 600));
    expect(await quotaHits(`ip:${ip}`)).toBe(0);
    // The client's requests, counted in the same object and taken in the same call, are given back too.
    const requests = await runInDurableObject(
      env.QUOTA_COUNTER.getByName(`ip:${ip}`),
      (_, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM named_hits").one().n,
    );
    expect(requests).toBe(0);
    const plan = { daily: 100_000, shards: 8, hourlyPercent: 100, retrySpreadSeconds: 0 };
    expect(await budgetUsed(env.BUDGET_SHARD, plan, "2032-02-03")).toBe(0);
  });

  it("send: the KV write commits late", async () => {
    const phone = uniquePhone();
    expectProblem(await send({ ...slow, OTP_KV: faultyKv({ put: { late: 300 } }) }, phone), 503, "unavailable");
    expect((await env.OTP_KV.list({ prefix: `otp:${phone}:` })).keys).toHaveLength(0);
    expect((await limiterState(phone))?.sends ?? []).toHaveLength(0);
    expect(fast2sms.requests).toHaveLength(0);
  });

  it("verify: a right guess recorded late is not used up", async () => {
    const owner = await ownerGetsCode();
    const limiters = faultyNamespace(env.PHONE_LIMITER, { recordAttempt: { late: 300 } });
    expectProblem(await verify({ ...slow, PHONE_LIMITER: limiters }, owner), 503, "unavailable");
    expect((await limiterState(owner.phone))?.codes[0]?.usedBy).toBeNull();
    expect((await verify({}, owner)).status).toBe(200);
  });

  it("verify: a wrong guess recorded late is not counted", async () => {
    const owner = await ownerGetsCode();
    const limiters = faultyNamespace(env.PHONE_LIMITER, { recordAttempt: { late: 300 } });
    const wrong = owner.otp === "000000" ? "111111" : "000000";
    expectProblem(await verify({ ...slow, PHONE_LIMITER: limiters }, { ...owner, otp: wrong }), 503, "unavailable");
    const state = await limiterState(owner.phone);
    expect(state?.codes[0]?.attempts).toBe(0);
    expect(state?.failures).toHaveLength(0);
    const res = await verify({}, { ...owner, otp: wrong });
    expect(res.body.attempts_left).toBe(4);
  });
});

describe("sequential storage round trips (bindings instrumented)", () => {
  async function measure(
    path: string,
    json: unknown,
    counter: ReturnType<typeof roundTripCounter>,
    notWaitedFor: readonly string[] = [],
  ) {
    const ctx = createExecutionContext();
    const request = new Request(`${BASE}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": OWNER_IP },
      body: JSON.stringify(json),
    });
    const res = await app.fetch(request, { ...env, ...counter.bindings } as Env, ctx);
    const answered = counter.mark();
    await waitOnExecutionContext(ctx);
    return {
      status: res.status,
      body: await res.json<Record<string, unknown>>(),
      depth: counter.sequentialDepth(answered, notWaitedFor),
    };
  }

  it("/send-otp waits for at most 3 before the SMS; /verify-otp for at most 2", async () => {
    const counter = roundTripCounter();
    const phone = uniquePhone();
    const sent = await measure("/send-otp", { phone }, counter);
    expect(sent.status).toBe(200);
    // The client's quotas (its sends and its requests, at once), then the budget and the number, then the code's hash.
    expect(sent.depth).toBe(3);
    // Plus, after the SMS and not waited for, the number's last SMS for the operator (limiter.recordDelivery).
    expect(counter.calls().sort()).toEqual([
      "budget.take",
      "kv.put",
      "limiter.recordDelivery",
      "limiter.reserveSend",
      // The client's sends and requests: one counter, one call.
      "quota.takeAll",
      "range.check",
    ]);
    counter.reset();
    const verified = await measure(
      "/verify-otp",
      { phone, otp: fast2sms.lastCode(), verification_id: sent.body.verification_id },
      counter,
      // A right code's verify allowance lapses by itself (no call); its range forgets it in the background.
      ["range.forget"],
    );
    expect(verified.status).toBe(200);
    // The client's verify allowance, then the number, which holds a young code's hash: no KV read.
    expect(verified.depth).toBe(2);
    expect(counter.calls().slice(0, 2)).toEqual(["quota.hold", "limiter.recordAttempt"]);
    expect(counter.calls()).not.toContain("quota.release");
    // Read by the benchmark (bench/lib/worker-measurements.ts), which reports these figures.
    console.log(`storage round trips: ${JSON.stringify({ send_otp: sent.depth, verify_otp: verified.depth })}`);
  });
});
