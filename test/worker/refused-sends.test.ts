import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type BudgetPlan, budgetUsed, smsBudget } from "../../src/domain/guards/send-quotas";
import { loadSettings } from "../../src/kernel/config/settings";
import { MisconfiguredError } from "../../src/kernel/errors/service-error";
import { budgetShardFor, HOLD_WINDOW_MS } from "../../src/platform/limiter/budget-shard";
import { type ApiResponse, callWith, uniquePhone } from "../helpers/api";
import { faultyKv } from "../helpers/faulty-bindings";
import { expectProblem } from "../helpers/problem";
import { advance, setClock, setUpWorkerTest } from "../helpers/setup";

/** Sends refused by the number, the budget or the gateway: what they cost their sender, and what they tell a scanner. */
const fast2sms = setUpWorkerTest();

const send = (settings: Record<string, unknown>, phone: string, ip: string, asn?: number) =>
  callWith(settings, "/send-otp", {
    json: { phone },
    headers: { "cf-connecting-ip": ip },
    ...(asn === undefined ? {} : { cf: { asn } }),
  });

const plan = (daily: number, shards: number): BudgetPlan => ({
  daily,
  shards,
  hourlyPercent: 100,
  retrySpreadSeconds: 0,
});

/** What a client can read from a refusal (request_id is every response's own). */
const answer = (res: ApiResponse) => {
  const { request_id: _, ...body } = res.body;
  return { status: res.status, body, retryAfter: res.headers.get("retry-after") };
};

describe("refused sends never make the shared budget look spent", () => {
  it("with one unit left, a flood of 60 sends the number refuses leaves it to a legitimate send elsewhere", async () => {
    setClock(Date.UTC(2036, 0, 10, 12));
    const settings = { SMS_DAILY_BUDGET: "2", SMS_BUDGET_SHARDS: "1" };
    const attacker = "203.0.113.70";
    const target = uniquePhone();
    expect((await send(settings, target, attacker)).status).toBe(200);
    // Each of these holds the last unit for a moment while the number refuses it (the cooldown); those
    // that meet another's hold are refused by the budget.
    const flood = await Promise.all(Array.from({ length: 60 }, () => send(settings, target, attacker)));
    for (const res of flood) expect(res.body.code).toMatch(/^(rate_limited|sms_budget_exhausted)$/);
    expect(flood.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    // Same isolate as the flood: whatever it remembered about the shard, it must not be "spent".
    const legit = await send(settings, uniquePhone(), "198.51.100.70");
    expect(legit.status).toBe(200);
    expect(fast2sms.requests).toHaveLength(2);
    expect(await budgetUsed(env.BUDGET_SHARD, plan(2, 1), "2036-01-10")).toBe(2);
  });

  it("a shard full only with units held for the moment is not remembered as spent", async () => {
    const day = Date.UTC(2036, 0, 11);
    setClock(day + 12 * 3600_000);
    const shard = budgetShardFor(env.BUDGET_SHARD, "sms-budget:2036-01-11:0");
    expect(await shard.take("another-request", 1, 1, day + 2 * 86_400_000)).toEqual({ outcome: "taken" });
    const refusal = await smsBudget(env.BUDGET_SHARD, plan(1, 1)).take();
    expect(refusal?.code).toBe("sms_budget_exhausted");
    // The other request gives its unit back (its number refused it): the next send must find it.
    await shard.release("another-request");
    expect(await smsBudget(env.BUDGET_SHARD, plan(1, 1)).take()).toBeUndefined();
  });

  it("a shard tells held units from committed ones; a unit not given back within the hold window is committed", async () => {
    const day = Date.UTC(2036, 0, 12);
    setClock(day + 3600_000);
    const shard = budgetShardFor(env.BUDGET_SHARD, "test-shard:held");
    const expires = day + 2 * 86_400_000;
    expect(await shard.take("a", 1, 2, expires)).toEqual({ outcome: "taken" });
    advance(HOLD_WINDOW_MS + 1000);
    expect(await shard.take("b", 1, 2, expires)).toEqual({ outcome: "taken" });
    expect(await shard.take("c", 1, 2, expires)).toEqual({ outcome: "refused", used: 2, held: 1 });
    await shard.release("b");
    await shard.release("early");
    expect(await shard.take("d", 1, 1, expires)).toEqual({ outcome: "refused", used: 1, held: 0 });
    expect(await shard.probe(1, 2)).toEqual({ outcome: "room", free: 1 });
    expect(await shard.used()).toBe(1);
  });
});

describe("every send request costs its sender (OTP_MAX_SEND_REQUESTS_PER_IP_PER_HOUR)", () => {
  it("the (N+1)th request in an hour is refused 429 even when the number refused all N", async () => {
    const settings = {
      OTP_MAX_SENDS_PER_IP_PER_HOUR: "3",
      OTP_MAX_SEND_REQUESTS_PER_IP_PER_HOUR: "3",
      OTP_MAX_SENDS_PER_NUMBER_PER_HOUR: "1",
    };
    const full = uniquePhone();
    expect((await send(settings, full, "198.51.100.80")).status).toBe(200);
    const client = "203.0.113.80";
    for (let i = 0; i < 3; i++) {
      const res = await send(settings, full, client);
      expectProblem(res, 429, "rate_limited");
      expect(res.body.detail).toMatch(/this number/i);
    }
    const refused = await send(settings, uniquePhone(), client);
    expectProblem(refused, 429, "rate_limited");
    expect(refused.body.detail).toMatch(/^Too many codes were requested from your network\. Try again in /);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThan(3500);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(fast2sms.requests).toHaveLength(1);
    advance(3600_000 + 1000);
    expect((await send(settings, uniquePhone(), client)).status).toBe(200);
  });

  it("an outage (503) costs no request, a gateway failure does", async () => {
    const settings = { OTP_MAX_SENDS_PER_IP_PER_HOUR: "1", OTP_MAX_SEND_REQUESTS_PER_IP_PER_HOUR: "1" };
    const client = "203.0.113.81";
    const outage = await send(
      { ...settings, OTP_KV: faultyKv({ put: new Error("KV PUT failed: 500") }) },
      uniquePhone(),
      client,
    );
    expectProblem(outage, 503, "unavailable");
    fast2sms.respond({ status: 500, body: "{}" });
    expectProblem(await send(settings, uniquePhone(), client), 502, "sms_failed");
    const refused = await send(settings, uniquePhone(), client);
    expectProblem(refused, 429, "rate_limited");
    expect(refused.body.detail).toMatch(/from your network/);
  });

  it.each([
    [
      "a carrier-NAT IPv4 address gets OTP_MAX_SENDS_PER_CARRIER_IP_PER_HOUR / OTP_MAX_SENDS_PER_IP_PER_HOUR times as many",
      "100.64.0.82",
      55836,
      10,
      "198.51.100.83",
    ],
    ["another IPv4 address gets the setting's", "203.0.113.82", 64500, 4, "198.51.100.84"],
    ["an IPv6 /64 counts as one client", "2001:db8:82:1::", 64500, 4, "198.51.100.85"],
  ])("%s", async (_, address, asn, allowed, owner) => {
    // The owner's send fills the number's hourly ceiling, so the number refuses every send after it.
    const settings = {
      OTP_MAX_SENDS_PER_IP_PER_HOUR: "2",
      OTP_MAX_SEND_REQUESTS_PER_IP_PER_HOUR: "4",
      OTP_MAX_SENDS_PER_CARRIER_IP_PER_HOUR: "5",
      OTP_MAX_SENDS_PER_NUMBER_PER_HOUR: "1",
    };
    const full = uniquePhone();
    expect((await send(settings, full, owner)).status).toBe(200);
    // An IPv6 client rotates through its /64; the others keep one address.
    const from = (i: number) => (address.endsWith("::") ? `${address}${(i + 1).toString(16)}` : address);
    for (let i = 0; i < allowed; i++) {
      const res = await send(settings, full, from(i), asn);
      expectProblem(res, 429, "rate_limited");
      expect(res.body.detail).toMatch(/this number/i);
    }
    const refused = await send(settings, uniquePhone(), from(allowed), asn);
    expectProblem(refused, 429, "rate_limited");
    expect(refused.body.detail).toMatch(/from your network/);
  });

  it("a request allowance below OTP_MAX_SENDS_PER_IP_PER_HOUR is reported at settings load", () => {
    const base = { SMS_PROVIDER: "console", JWT_SECRET: "j".repeat(32), OTP_HASH_SECRET: "h".repeat(32) };
    expect(loadSettings({ ...base }).otp.maxSendRequestsPerIpPerHour).toBe(30);
    expect(
      loadSettings({ ...base, OTP_MAX_SENDS_PER_IP_PER_HOUR: "40", OTP_MAX_SEND_REQUESTS_PER_IP_PER_HOUR: "40" }).otp
        .maxSendRequestsPerIpPerHour,
    ).toBe(40);
    let error: unknown;
    try {
      loadSettings({ ...base, OTP_MAX_SENDS_PER_IP_PER_HOUR: "40", OTP_MAX_SEND_REQUESTS_PER_IP_PER_HOUR: "39" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MisconfiguredError);
    expect((error as MisconfiguredError).settings).toEqual(["OTP_MAX_SEND_REQUESTS_PER_IP_PER_HOUR"]);
    const cause = String((error as MisconfiguredError).cause);
    expect(cause).toContain("must be at least OTP_MAX_SENDS_PER_IP_PER_HOUR");
    expect(cause).not.toMatch(/39|40/);
  });
});

describe("test numbers answer like every other number", () => {
  it("spend no budget while it has room, and while it is spent get the same 503 as a real number", async () => {
    setClock(Date.UTC(2036, 0, 13, 12));
    const testNumber = uniquePhone();
    const settings = {
      SMS_DAILY_BUDGET: "1",
      SMS_BUDGET_SHARDS: "1",
      SMS_BUDGET_RETRY_SPREAD_SECONDS: "0",
      TEST_PHONE_NUMBERS: `${testNumber}:123456`,
    };
    expect((await send(settings, testNumber, "198.51.100.90")).status).toBe(200);
    expect(fast2sms.requests).toHaveLength(0);
    // The probe wrote nothing: the day's shard was never made.
    const tables = await runInDurableObject(env.BUDGET_SHARD.getByName("sms-budget:2036-01-13:0"), (_, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray(),
    );
    expect(tables).toEqual([]);

    expect((await send(settings, uniquePhone(), "198.51.100.91")).status).toBe(200);
    expect(await budgetUsed(env.BUDGET_SHARD, plan(1, 1), "2036-01-13")).toBe(1);
    const real = await send(settings, uniquePhone(), "198.51.100.92");
    const test = await send(settings, testNumber, "198.51.100.93");
    expectProblem(real, 503, "sms_budget_exhausted");
    expect(answer(test)).toEqual(answer(real));
    expect(fast2sms.requests).toHaveLength(1);
  });
});
