import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { budgetUsed } from "../../src/domain/guards/send-quotas";
import { callWith, get, lastVerificationId, uniquePhone } from "../helpers/api";
import { FakeTurnstile, turnstileSettings } from "../helpers/fake-turnstile";
import { expectProblem } from "../helpers/problem";
import { advance, setClock, setUpWorkerTest } from "../helpers/setup";

const fast2sms = setUpWorkerTest();
const turnstile = new FakeTurnstile();
beforeEach(() => turnstile.install());

const send = (
  settings: Record<string, unknown>,
  phone: string,
  ip = "203.0.113.7",
  extra: Record<string, unknown> = {},
) => callWith(settings, "/send-otp", { json: { phone, ...extra }, headers: { "cf-connecting-ip": ip } });
const verify = (settings: Record<string, unknown>, phone: string, otp: string) =>
  callWith(settings, "/verify-otp", { json: { phone, otp, verification_id: lastVerificationId(phone) } });

describe("per-IP send limit (OTP_MAX_SENDS_PER_IP_PER_HOUR)", () => {
  const limit = { OTP_MAX_SENDS_PER_IP_PER_HOUR: "10" };

  it("refuses the 11th send from one address with Retry-After, sends no SMS for it, and spends nothing of the number's", async () => {
    const ip = "198.51.100.20";
    for (let i = 0; i < 10; i++) expect((await send(limit, uniquePhone(), ip)).status).toBe(200);
    const victim = uniquePhone();
    const refused = await send(limit, victim, ip);
    expectProblem(refused, 429, "rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(3500);
    expect(fast2sms.requests).toHaveLength(10);
    // The refused request did not start the victim's cooldown: another client can still send to it.
    expect((await send(limit, victim, "198.51.100.21")).status).toBe(200);
  });

  it("counts a whole IPv6 /64 as one client", async () => {
    for (let i = 0; i < 10; i++) {
      expect((await send(limit, uniquePhone(), `2001:db8:aa:bb::${(i + 1).toString(16)}`)).status).toBe(200);
    }
    expectProblem(await send(limit, uniquePhone(), "2001:db8:aa:bb:ffff::1"), 429, "rate_limited");
    expect((await send(limit, uniquePhone(), "2001:db8:aa:bc::1")).status).toBe(200);
  });

  it("frees up after an hour", async () => {
    const ip = "198.51.100.30";
    for (let i = 0; i < 10; i++) await send(limit, uniquePhone(), ip);
    expectProblem(await send(limit, uniquePhone(), ip), 429, "rate_limited");
    advance(3600_000 + 1000);
    expect((await send(limit, uniquePhone(), ip)).status).toBe(200);
  });
});

describe("global daily SMS budget (SMS_DAILY_BUDGET)", () => {
  it("answers 503 sms_budget_exhausted until the next UTC day, while verifies keep working", async () => {
    // Start at a known time: 10:00 UTC.
    setClock(Date.UTC(2031, 0, 15, 10, 0, 0));
    const budget = { SMS_DAILY_BUDGET: "3" };
    const phones = [uniquePhone(), uniquePhone(), uniquePhone()];
    for (const [i, phone] of phones.entries()) expect((await send(budget, phone, `192.0.2.${i}`)).status).toBe(200);
    const firstCode = fast2sms.requests[0]!.body.variables_values!;

    const spent = await send(budget, uniquePhone(), "192.0.2.9");
    expectProblem(spent, 503, "sms_budget_exhausted");
    // Until the day's end, plus up to SMS_BUDGET_RETRY_SPREAD_SECONDS (900) so the refused do not all return at once.
    const retryAfter = Number(spent.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(14 * 3600);
    expect(retryAfter).toBeLessThanOrEqual(14 * 3600 + 900);
    expect(fast2sms.requests).toHaveLength(3);

    expect((await verify(budget, phones[0]!, firstCode)).status).toBe(200);

    setClock(Date.UTC(2031, 0, 16, 0, 0, 1));
    expect((await send(budget, uniquePhone(), "192.0.2.10")).status).toBe(200);
  });

  it("is spent exactly under concurrency: 20 concurrent sends with a budget of 5 send 5 SMS", async () => {
    setClock(Date.UTC(2031, 1, 1, 12, 0, 0));
    const budget = { SMS_DAILY_BUDGET: "5" };
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => send(budget, uniquePhone(), `192.0.2.${100 + i}`)),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(results.filter((r) => r.body.code === "sms_budget_exhausted")).toHaveLength(15);
    expect(fast2sms.requests).toHaveLength(5);
    const plan = { daily: 5, shards: 8, hourlyPercent: 100, retrySpreadSeconds: 0 };
    expect(await budgetUsed(env.BUDGET_SHARD, plan, "2031-02-01")).toBe(5);
  });

  it("a request refused by the budget spends no per-IP quota", async () => {
    setClock(Date.UTC(2031, 2, 1, 12, 0, 0));
    const settings = { SMS_DAILY_BUDGET: "1", OTP_MAX_SENDS_PER_IP_PER_HOUR: "2" };
    const ip = "192.0.2.200";
    expect((await send(settings, uniquePhone(), ip)).status).toBe(200);
    // With a quota of 2, a refused request that kept its quota hit would turn the next one into 429.
    for (let i = 0; i < 3; i++) expectProblem(await send(settings, uniquePhone(), ip), 503, "sms_budget_exhausted");
    const hits = await runInDurableObject(
      env.QUOTA_COUNTER.getByName(`ip:${ip}`),
      (_, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM quota_hits").one().n,
    );
    expect(hits).toBe(1);
  });
});

describe("bot check (Turnstile)", () => {
  it("requires turnstile_token when TURNSTILE_SECRET_KEY is set", async () => {
    const res = await send(turnstileSettings, uniquePhone());
    expectProblem(res, 403, "captcha_failed");
    expect(turnstile.requests).toHaveLength(0);
    expect(fast2sms.requests).toHaveLength(0);
  });

  it("passes a token siteverify accepts, sending the secret, the token and the client address", async () => {
    const res = await send(turnstileSettings, uniquePhone(), "203.0.113.50", { turnstile_token: "good-token" });
    expect(res.status).toBe(200);
    expect(turnstile.requests).toEqual([
      { secret: "test-turnstile-secret", response: "good-token", remoteip: "203.0.113.50" },
    ]);
  });

  it.each([
    ["success: false", { success: false, "error-codes": ["invalid-input-response"] }, {}],
    [
      "the wrong hostname",
      { success: true, hostname: "evil.example", action: "send-otp" },
      { TURNSTILE_EXPECTED_HOSTNAME: "shop.example" },
    ],
    [
      "the wrong action",
      { success: true, hostname: "shop.example", action: "login" },
      { TURNSTILE_EXPECTED_ACTION: "send-otp" },
    ],
  ])("refuses %s with 403 captcha_failed and sends nothing", async (_, body, extra) => {
    turnstile.reply = { status: 200, body };
    const res = await send({ ...turnstileSettings, ...extra }, uniquePhone(), "203.0.113.51", { turnstile_token: "t" });
    expectProblem(res, 403, "captcha_failed");
    expect(fast2sms.requests).toHaveLength(0);
  });

  it("accepts the configured hostname and action", async () => {
    const res = await send(
      { ...turnstileSettings, TURNSTILE_EXPECTED_HOSTNAME: "shop.example", TURNSTILE_EXPECTED_ACTION: "send-otp" },
      uniquePhone(),
      "203.0.113.52",
      { turnstile_token: "t" },
    );
    expect(res.status).toBe(200);
  });

  it.each([
    ["a 500", { status: 500, body: "oops" }],
    ["garbage", { status: 200, body: "<html>" }],
    ["a network error", { network: true } as const],
  ])("fails closed with 503 when siteverify gives %s", async (_, reply) => {
    turnstile.reply = reply as FakeTurnstile["reply"];
    const res = await send(turnstileSettings, uniquePhone(), "203.0.113.53", { turnstile_token: "t" });
    expectProblem(res, 503, "captcha_unavailable");
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(fast2sms.requests).toHaveLength(0);
  });
});

describe("test numbers (TEST_PHONE_NUMBERS)", () => {
  const settings = { TEST_PHONE_NUMBERS: "+919999999999:123456, 08888888888:654321", SMS_DAILY_BUDGET: "1" };

  it("log in with the fixed code, send no SMS and spend no budget", async () => {
    setClock(Date.UTC(2031, 3, 1, 12, 0, 0));
    expect((await send(settings, "+919999999999")).status).toBe(200);
    expect((await send(settings, "+918888888888", "203.0.113.61")).status).toBe(200);
    expect(fast2sms.requests).toHaveLength(0);
    expect((await verify(settings, "+919999999999", "123456")).status).toBe(200);
    // The budget of 1 is still whole.
    expect((await send(settings, uniquePhone(), "203.0.113.62")).status).toBe(200);
    expectProblem(await send(settings, uniquePhone(), "203.0.113.63"), 503, "sms_budget_exhausted");
  });

  it("still obey single use and attempt limits", async () => {
    setClock(Date.UTC(2031, 4, 1, 12, 0, 0));
    await send(settings, "+918888888888");
    expect((await verify(settings, "+918888888888", "654321")).status).toBe(200);
    expectProblem(await verify(settings, "+918888888888", "654321"), 404, "otp_not_found");
    advance(31_000);
    await send(settings, "+918888888888");
    for (let i = 0; i < 5; i++) expectProblem(await verify(settings, "+918888888888", "111111"), 400, "otp_invalid");
    expectProblem(await verify(settings, "+918888888888", "654321"), 404, "otp_not_found");
  });

  it("appear in /health only as a count", async () => {
    const res = await callWith(settings, "/health");
    expect(res.body).toEqual({ status: "ok", config: { valid: true, test_numbers: 2 } });
    expect(JSON.stringify(res.body)).not.toMatch(/9999999999|123456/);
  });

  it("a malformed list is misconfigured", async () => {
    for (const bad of ["+919999999999", "+919999999999:12", "12345:123456"]) {
      const res = await send({ TEST_PHONE_NUMBERS: bad }, uniquePhone());
      expectProblem(res, 500, "misconfigured");
      expect(res.body.detail).toContain("TEST_PHONE_NUMBERS");
    }
  });
});

describe("request hygiene", () => {
  it("every response has nosniff, and OTP responses are not cacheable", async () => {
    const ok = await send({}, uniquePhone());
    const bad = await send({}, "nope");
    const missing = await get("/nowhere");
    for (const res of [ok, bad, missing]) {
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
  });

  it("answers the same for a number that was never used as for one that was", async () => {
    const used = uniquePhone();
    await send({}, used);
    const code = fast2sms.lastCode();
    await verify({}, used, code);
    const fresh = uniquePhone();
    const guess = (phone: string) =>
      callWith({}, "/verify-otp", { json: { phone, otp: "000000", verification_id: "AAAAAAAAAAAAAAAAAAAAAA" } });
    const a = await guess(used);
    const b = await guess(fresh);
    expect({ status: a.status, code: a.body.code, detail: a.body.detail }).toEqual({
      status: b.status,
      code: b.body.code,
      detail: b.body.detail,
    });
  });
});
