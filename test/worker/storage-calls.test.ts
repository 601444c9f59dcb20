import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type ApiResponse, uniquePhone, withEnv } from "../helpers/api";
import { setUpWorkerTest } from "../helpers/setup";
import { storageCallCounter } from "../helpers/storage-calls";

/**
 * Storage calls per sign-in, counted: every KV and Durable Object binding is
 * wrapped (found by its shape, so a binding added later is counted too), and
 * every request's work after the response is waited for and counted. Default
 * settings (wrangler.toml's, not the test project's raised limits), an IPv4
 * client that is not a carrier's address. The benchmark (bench/lib/worker-measurements.ts)
 * runs this file and reports the figures it prints.
 */
const fast2sms = setUpWorkerTest();

/** wrangler.toml's defaults for what vitest.config.ts raises for the other tests. */
const DEFAULTS: Record<string, string> = {
  OTP_MAX_SENDS_PER_IP_PER_HOUR: "10",
  OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "60",
  OTP_MAX_SEND_REQUESTS_PER_IP_PER_HOUR: "30",
  SMS_DAILY_BUDGET: "1000",
  OTP_MAX_SENDS_PER_IPV6_56_PER_HOUR: "50",
  OTP_MAX_SENDS_PER_IPV6_48_PER_HOUR: "200",
  OTP_MAX_SENDS_PER_ASN_PER_HOUR: "2000",
  SMS_BUDGET_HOURLY_PERCENT: "100",
  REFRESH_MAX_PER_IP_PER_HOUR: "600",
  STATS_FLUSH_MS: "2000",
};

type Counter = ReturnType<typeof storageCallCounter>;

/** One sign-in (send, verify, refresh) from its own IPv4 address; the calls of each request, after-response work included. */
async function signInCounted(counter: Counter, environment: Env, ip: string) {
  const phone = uniquePhone();
  const headers = { "cf-connecting-ip": ip };
  const step = async (path: string, json: unknown): Promise<{ res: ApiResponse; calls: string[] }> => {
    const before = counter.calls().length;
    const res = await withEnv(environment, path, { json, headers });
    return {
      res,
      calls: counter
        .calls()
        .slice(before)
        .map((c) => c.name),
    };
  };
  const send = await step("/send-otp", { phone });
  expect(send.res.status).toBe(200);
  const verify = await step("/verify-otp", {
    phone,
    otp: fast2sms.codeTo(phone),
    verification_id: send.res.body.verification_id,
  });
  expect(verify.res.status).toBe(200);
  const refresh = await step("/token/refresh", { refresh_token: verify.res.body.refresh_token });
  expect(refresh.res.status).toBe(200);
  return { send: send.calls, verify: verify.calls, refresh: refresh.calls };
}

const isStats = (name: string) => name.startsWith("STATS_COUNTER.");

describe("storage calls per sign-in (every KV and Durable Object binding wrapped)", () => {
  it("wraps every KV and Durable Object binding of the environment, whatever its name", () => {
    const wrapped = Object.keys(storageCallCounter().bindings()).sort();
    expect(wrapped).toEqual(expect.arrayContaining(["OTP_KV", "PHONE_LIMITER", "QUOTA_COUNTER", "SESSION_STORE"]));
    expect(wrapped).toContain("STATS_COUNTER");
    expect(wrapped).toContain("BUDGET_SHARD");
  });

  it("counts one lone sign-in and 16 at once, per endpoint", async () => {
    const counter = storageCallCounter();
    const lone = await signInCounted(counter, { ...env, ...DEFAULTS, ...counter.bindings() } as Env, "198.51.100.77");
    // 16 users at once in one isolate, each flow with its own counter, but one STATS_COUNTER binding for all
    // (its wrapper is one object, as the real binding is), so what the operator's stats cost is shared by them.
    const shared = storageCallCounter();
    const stats = shared.bindings().STATS_COUNTER;
    const many = await Promise.all(
      Array.from({ length: 16 }, (_, i) => {
        const own = storageCallCounter();
        const environment = { ...env, ...DEFAULTS, ...own.bindings(), STATS_COUNTER: stats } as Env;
        return signInCounted(own, environment, `198.51.100.${100 + i}`);
      }),
    );
    const perSignIn = (pick: (f: (typeof many)[number]) => string[]) =>
      many.reduce((n, f) => n + pick(f).filter((c) => !isStats(c)).length, 0) / many.length;
    const statsPerSignIn = shared.calls().length / many.length;
    const figures = {
      lone: {
        send_otp: lone.send.length,
        verify_otp: lone.verify.length,
        refresh: lone.refresh.length,
        sign_in: lone.send.length + lone.verify.length,
        calls: { send_otp: lone.send, verify_otp: lone.verify, refresh: lone.refresh },
      },
      concurrent16: {
        send_otp: perSignIn((f) => f.send),
        verify_otp: perSignIn((f) => f.verify),
        refresh: perSignIn((f) => f.refresh),
        stats: statsPerSignIn,
        sign_in: perSignIn((f) => f.send) + perSignIn((f) => f.verify) + statsPerSignIn,
      },
    };
    // Read by the benchmark (bench/lib/worker-measurements.ts), which reports these figures.
    console.log(`storage calls: ${JSON.stringify(figures)}`);
    expect(figures.lone.send_otp).toBeGreaterThan(0);
    // A right code's verify allowance lapses by itself: nothing is given back by a call.
    expect(lone.verify.filter((c) => c.startsWith("QUOTA_COUNTER."))).toEqual(["QUOTA_COUNTER.hold"]);
  }, 30_000);
});
