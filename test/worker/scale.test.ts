import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type BudgetPlan, budgetUsed } from "../../src/domain/guards/send-quotas";
import { type BudgetShard, budgetShardFor, HOLD_WINDOW_MS } from "../../src/platform/limiter/budget-shard";
import { callWith, uniquePhone } from "../helpers/api";
import { expectProblem } from "../helpers/problem";
import { advance, setClock, setUpWorkerTest } from "../helpers/setup";

/**
 * Sends at scale: the day's budget over shards (so no one object takes every
 * send), paced through the day (so midnight brings no stampede); client
 * limits for IPv6 prefixes, carrier NAT addresses and networks.
 */
const fast2sms = setUpWorkerTest();

const send = (
  settings: Record<string, unknown>,
  ip: string,
  more: { asn?: number; headers?: Record<string, string> } = {},
) =>
  callWith(settings, "/send-otp", {
    json: { phone: uniquePhone() },
    headers: { "cf-connecting-ip": ip, ...more.headers },
    ...(more.asn === undefined ? {} : { cf: { asn: more.asn } }),
  });

const plan = (daily: number, shards: number): BudgetPlan => ({
  daily,
  shards,
  hourlyPercent: 100,
  retrySpreadSeconds: 0,
});

/** Counts the calls the app makes to the budget shards. */
function countingShards() {
  const calls: string[] = [];
  const ns = new Proxy(env.BUDGET_SHARD, {
    get(target, prop: string) {
      if (prop !== "getByName") return Reflect.get(target, prop);
      return (name: string, options?: DurableObjectNamespaceGetDurableObjectOptions) => {
        const stub = target.getByName(name, options) as unknown as Record<string, (...a: unknown[]) => unknown>;
        return new Proxy(stub, {
          get: (s, method: string) => {
            return (...args: unknown[]) => {
              calls.push(method);
              return s[method]!(...args);
            };
          },
        });
      };
    },
  });
  return { ns, calls };
}

describe("the day's SMS budget over shards", () => {
  it.each([
    [8, "2035-01-10"],
    [3, "2035-01-11"],
    [1, "2035-01-12"],
  ])(
    "40 concurrent sends on a budget of 7 over %i shards send exactly 7 SMS; the rest 503 with Retry-After",
    async (shards, day) => {
      setClock(Date.parse(`${day}T12:00:00Z`));
      const settings = { SMS_DAILY_BUDGET: "7", SMS_BUDGET_SHARDS: String(shards) };
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => send(settings, `192.0.2.${i + 1}`)));
      expect(results.filter((r) => r.status === 200)).toHaveLength(7);
      for (const r of results.filter((r) => r.status !== 200)) {
        expectProblem(r, 503, "sms_budget_exhausted");
        const retryAfter = Number(r.headers.get("retry-after"));
        // Until 00:00 UTC (12 h), plus up to SMS_BUDGET_RETRY_SPREAD_SECONDS (900).
        expect(retryAfter).toBeGreaterThanOrEqual(12 * 3600);
        expect(retryAfter).toBeLessThanOrEqual(12 * 3600 + 900);
      }
      expect(fast2sms.requests).toHaveLength(7);
      expect(await budgetUsed(env.BUDGET_SHARD, plan(7, shards), day)).toBe(7);
    },
  );

  it("a refused isolate stops asking: spent shards are remembered until their next release", async () => {
    setClock(Date.UTC(2035, 2, 1, 12));
    const { ns, calls } = countingShards();
    const settings = { SMS_DAILY_BUDGET: "2", SMS_BUDGET_SHARDS: "2", BUDGET_SHARD: ns };
    expect((await send(settings, "192.0.2.1")).status).toBe(200);
    expect((await send(settings, "192.0.2.2")).status).toBe(200);
    // Only committed units make a shard look spent: those not given back within the hold window.
    advance(HOLD_WINDOW_MS + 1000);
    expectProblem(await send(settings, "192.0.2.3"), 503, "sms_budget_exhausted");
    const before = calls.length;
    for (let i = 0; i < 5; i++) expectProblem(await send(settings, `192.0.2.${10 + i}`), 503, "sms_budget_exhausted");
    expect(calls.length).toBe(before);
  });

  it("is released hourly: at 00:30 UTC only the first hour's share; more at 01:00; never more than the day's", async () => {
    const settings = {
      SMS_DAILY_BUDGET: "20",
      SMS_BUDGET_SHARDS: "2",
      SMS_BUDGET_HOURLY_PERCENT: "10",
      SMS_BUDGET_RETRY_SPREAD_SECONDS: "600",
    };
    setClock(Date.UTC(2035, 3, 1, 0, 30));
    // Each shard owns 10 and releases ceil(10 × 10% × 1) = 1 in hour 0.
    expect((await send(settings, "192.0.2.1")).status).toBe(200);
    expect((await send(settings, "192.0.2.2")).status).toBe(200);
    const refused = await send(settings, "192.0.2.3");
    expectProblem(refused, 503, "sms_budget_exhausted");
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1800);
    expect(retryAfter).toBeLessThanOrEqual(1800 + 600);

    setClock(Date.UTC(2035, 3, 1, 1, 0, 1));
    expect((await send(settings, "192.0.2.4")).status).toBe(200);
    expect((await send(settings, "192.0.2.5")).status).toBe(200);
    expectProblem(await send(settings, "192.0.2.6"), 503, "sms_budget_exhausted");

    // From 10:00 UTC the whole day's budget is out, and not one more.
    setClock(Date.UTC(2035, 3, 1, 23, 59));
    const late = await Promise.all(Array.from({ length: 30 }, (_, i) => send(settings, `192.0.2.${20 + i}`)));
    expect(late.filter((r) => r.status === 200)).toHaveLength(16);
    expect(await budgetUsed(env.BUDGET_SHARD, plan(20, 2), "2035-04-01")).toBe(20);

    // The next day starts with its first hour's share, not the whole day's.
    setClock(Date.UTC(2035, 3, 2, 0, 0, 5));
    const next = await Promise.all(Array.from({ length: 10 }, (_, i) => send(settings, `192.0.2.${60 + i}`)));
    expect(next.filter((r) => r.status === 200)).toHaveLength(2);
  });

  it("a shard's alarm drops it only when its day is long over", async () => {
    const day = Date.UTC(2035, 4, 1);
    setClock(day + 3600_000);
    const shard = budgetShardFor(env.BUDGET_SHARD, "test-shard:alarm");
    expect(await shard.take("a", 1, 2, day + 2 * 86_400_000)).toEqual({ outcome: "taken" });
    expect(await shard.take("a", 1, 2, day + 2 * 86_400_000)).toEqual({ outcome: "taken" });
    expect(await shard.take("b", 1, 2, day + 2 * 86_400_000)).toEqual({ outcome: "taken" });
    expect(await shard.take("c", 1, 2, day + 2 * 86_400_000)).toEqual({ outcome: "refused", used: 2, held: 2 });
    await shard.release("b");
    await shard.release("b");
    await shard.release("late");
    expect(await shard.take("late", 1, 2, day + 2 * 86_400_000)).toEqual({ outcome: "taken" });
    expect(await shard.used()).toBe(1);
    const alarm = await runInDurableObject(env.BUDGET_SHARD.getByName("test-shard:alarm"), (_: BudgetShard, state) =>
      state.storage.getAlarm(),
    );
    expect(alarm).toBe(day + 2 * 86_400_000);
    setClock(day + 2 * 86_400_000 + 1);
    expect(await runDurableObjectAlarm(env.BUDGET_SHARD.getByName("test-shard:alarm"))).toBe(true);
    expect(await shard.used()).toBe(0);
  });
});

describe("client limits that fit real networks", () => {
  it("an IPv4 address and its ::ffff: forms are one client", async () => {
    const limit = { OTP_MAX_SENDS_PER_IP_PER_HOUR: "2" };
    expect((await send(limit, "198.51.100.77")).status).toBe(200);
    expect((await send(limit, "::ffff:198.51.100.77")).status).toBe(200);
    expectProblem(await send(limit, "::ffff:c633:644d"), 429, "rate_limited");
  });

  it("counts IPv6 at /64, /56 and /48, each with its own limit", async () => {
    const limits = {
      OTP_MAX_SENDS_PER_IP_PER_HOUR: "2",
      OTP_MAX_SENDS_PER_IPV6_56_PER_HOUR: "3",
      OTP_MAX_SENDS_PER_IPV6_48_PER_HOUR: "4",
    };
    // /64 2001:db8:77:100::/64 takes its 2.
    expect((await send(limits, "2001:db8:77:100::1")).status).toBe(200);
    expect((await send(limits, "2001:db8:77:100::2")).status).toBe(200);
    expectProblem(await send(limits, "2001:db8:77:100::3"), 429, "rate_limited");
    // Another /64 of the same /56 gets the /56's third, then nothing.
    expect((await send(limits, "2001:db8:77:1ff::1")).status).toBe(200);
    expectProblem(await send(limits, "2001:db8:77:1fe::1"), 429, "rate_limited");
    // Another /56 of the same /48 gets the /48's fourth, then nothing.
    expect((await send(limits, "2001:db8:77:200::1")).status).toBe(200);
    expectProblem(await send(limits, "2001:db8:77:300::1"), 429, "rate_limited");
    // Another /48 is another client.
    expect((await send(limits, "2001:db8:78::1")).status).toBe(200);
  });

  it("a carrier NAT address (CARRIER_ASNS) has room for many users; another network's address does not", async () => {
    const limits = { OTP_MAX_SENDS_PER_IP_PER_HOUR: "2", OTP_MAX_SENDS_PER_CARRIER_IP_PER_HOUR: "5" };
    for (let i = 0; i < 5; i++) expect((await send(limits, "100.64.1.1", { asn: 55836 })).status).toBe(200);
    expectProblem(await send(limits, "100.64.1.1", { asn: 55836 }), 429, "rate_limited");
    for (let i = 0; i < 2; i++) expect((await send(limits, "100.64.1.2", { asn: 64500 })).status).toBe(200);
    expectProblem(await send(limits, "100.64.1.2", { asn: 64500 }), 429, "rate_limited");
  });

  it("limits one network's sends per hour (OTP_MAX_SENDS_PER_ASN_PER_HOUR), across its addresses and shards", async () => {
    setClock(Date.UTC(2035, 5, 1, 8, 10));
    const limits = { OTP_MAX_SENDS_PER_ASN_PER_HOUR: "5", SMS_BUDGET_SHARDS: "3" };
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => send(limits, `203.0.113.${i + 1}`, { asn: 64501 })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(5);
    for (const r of results.filter((r) => r.status !== 200)) {
      expectProblem(r, 429, "rate_limited");
      expect(Number(r.headers.get("retry-after"))).toBe(50 * 60);
    }
    // Carriers are not held to it; another network is another count; the next hour starts afresh.
    expect((await send(limits, "203.0.113.50", { asn: 45609 })).status).toBe(200);
    expect((await send(limits, "203.0.113.51", { asn: 64502 })).status).toBe(200);
    setClock(Date.UTC(2035, 5, 1, 9, 0, 1));
    expect((await send(limits, "203.0.113.52", { asn: 64501 })).status).toBe(200);
  });

  describe("a backend calling for its users (TRUSTED_PROXY_SECRET)", () => {
    const secret = "trusted-proxy-secret-0123456789abcdef0123";
    const limits = { OTP_MAX_SENDS_PER_IP_PER_HOUR: "1", TRUSTED_PROXY_SECRET: secret };
    const BACKEND = "192.0.2.250";
    const forUser = (user: string, sentSecret: string) =>
      send(limits, BACKEND, { headers: { "x-otp-client-ip": user, "x-otp-proxy-secret": sentSecret } });

    it("with the right secret, each user is counted by the address the backend names", async () => {
      expect((await forUser("198.51.100.1", secret)).status).toBe(200);
      expect((await forUser("198.51.100.2", secret)).status).toBe(200);
      expectProblem(await forUser("198.51.100.1", secret), 429, "rate_limited");
    });

    it("with a wrong or missing secret, or none configured, the header is ignored: the backend's address counts", async () => {
      const other = "192.0.2.251";
      const wrong = (user: string) =>
        send(limits, other, { headers: { "x-otp-client-ip": user, "x-otp-proxy-secret": `${secret}x` } });
      expect((await wrong("198.51.100.3")).status).toBe(200);
      expectProblem(await wrong("198.51.100.4"), 429, "rate_limited");
      const unset = { OTP_MAX_SENDS_PER_IP_PER_HOUR: "1" };
      const third = "192.0.2.252";
      const header = { "x-otp-client-ip": "198.51.100.5", "x-otp-proxy-secret": secret };
      expect((await send(unset, third, { headers: header })).status).toBe(200);
      expectProblem(
        await send(unset, third, { headers: { ...header, "x-otp-client-ip": "198.51.100.6" } }),
        429,
        "rate_limited",
      );
    });

    it("a forwarded value that is not an IP address is ignored: the backend's address counts", async () => {
      const backend = "192.0.2.253";
      const odd = (value: string) =>
        send(limits, backend, { headers: { "x-otp-client-ip": value, "x-otp-proxy-secret": secret } });
      expect((await odd("1:2:3:4:5:6:7:8:9")).status).toBe(200);
      for (const value of ["[%]", "::ffff:999.1.1.1", "001.002.003.004"])
        expectProblem(await odd(value), 429, "rate_limited");
    });
  });
});
