import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import app from "../../src/index";
import { BASE, uniquePhone } from "../helpers/api";
import { ok } from "../helpers/fake-fast2sms";
import { setUpWorkerTest } from "../helpers/setup";
import { type CallDelays, storageCallCounter } from "../helpers/storage-calls";

/**
 * Latency at the edge, by simulation: every KV and Durable Object call is held
 * for what a call of its kind commonly takes from an Indian Cloudflare location
 * (EDGE_DELAYS), and the gateway answers after GATEWAY_MS; then send and
 * verify are timed from the request to the answer (work after the response is
 * not waited for by the person), one sign-in at a time. The figure includes this
 * machine's own execution of the request (workerd's clock moves with it), which
 * at the edge is the isolate's and the objects' CPU. So a change that adds a sequential storage
 * call shows here as milliseconds. Nothing about speed is asserted: the
 * benchmark (bench/lib/worker-measurements.ts) runs this file and reports the line it prints.
 */
const fast2sms = setUpWorkerTest();

/** Commonly measured figures (BENCHMARKS.md, "Latency at the edge"), not Cloudflare guarantees. */
const DO_CALL_MS = 15;
const KV_WRITE_MS = 30;
const KV_READ_HOT_MS = 5;
const KV_READ_COLD_MS = 40;
/** One KV read in this many is cold (not cached at the location). */
const COLD_EVERY = 5;
const GATEWAY_MS = 300;
const SIGN_INS = 10;

describe("latency at the edge, simulated", () => {
  it("send and verify with per-call delays on every binding and the gateway", async () => {
    let reads = 0;
    const edge: CallDelays = {
      doCall: DO_CALL_MS,
      kvWrite: KV_WRITE_MS,
      kvRead: () => (++reads % COLD_EVERY === 0 ? KV_READ_COLD_MS : KV_READ_HOT_MS),
    };
    const none: CallDelays = { doCall: 0, kvWrite: 0, kvRead: () => 0 };
    let environment = env;
    const use = (delays: CallDelays, gatewayMs: number) => {
      fast2sms.respond({ ...ok(), delayMs: gatewayMs });
      environment = { ...env, ...storageCallCounter(delays).bindings() } as Env;
    };
    const contexts: ExecutionContext[] = [];
    const timed = async (path: string, json: unknown, ip: string) => {
      const ctx = createExecutionContext();
      contexts.push(ctx);
      const request = new Request(`${BASE}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", "cf-connecting-ip": ip },
        body: JSON.stringify(json),
      });
      const started = Date.now();
      const res = await app.fetch(request, environment, ctx);
      const body = await res.json<Record<string, unknown>>();
      expect(res.status).toBe(200);
      return { ms: Date.now() - started, body };
    };
    const signIn = async (i: number) => {
      const phone = uniquePhone();
      const ip = `198.51.100.${20 + i}`;
      const sent = await timed("/send-otp", { phone }, ip);
      const verified = await timed(
        "/verify-otp",
        { phone, otp: fast2sms.codeTo(phone), verification_id: sent.body.verification_id },
        ip,
      );
      return { send: sent.ms, verify: verified.ms };
    };
    // One at a time, after one that warms the code and the objects up: the figures are the delays on the
    // request's path plus this machine's own execution of it, not queueing behind other requests.
    const run = async (delays: CallDelays, gatewayMs: number) => {
      use(delays, gatewayMs);
      await signIn(SIGN_INS);
      const flows: Array<{ send: number; verify: number }> = [];
      for (let i = 0; i < SIGN_INS; i++) flows.push(await signIn(i));
      return flows;
    };
    // The same requests with no delay: this machine's own share of the figures.
    const local = await run(none, 0);
    const flows = await run(edge, GATEWAY_MS);
    await Promise.all(contexts.map((ctx) => waitOnExecutionContext(ctx)));
    const pct = (xs: number[], p: number) => {
      const sorted = [...xs].sort((a, b) => a - b);
      return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
    };
    const summary = (xs: number[]) => ({ p50: pct(xs, 50), p95: pct(xs, 95) });
    const figures = {
      delays: {
        do_call: DO_CALL_MS,
        kv_write: KV_WRITE_MS,
        kv_read_hot: KV_READ_HOT_MS,
        kv_read_cold: KV_READ_COLD_MS,
        cold_every: COLD_EVERY,
        gateway: GATEWAY_MS,
      },
      sign_ins: SIGN_INS,
      send_otp: summary(flows.map((f) => f.send)),
      verify_otp: summary(flows.map((f) => f.verify)),
      local_without_delays: {
        send_otp: summary(local.map((f) => f.send)),
        verify_otp: summary(local.map((f) => f.verify)),
      },
    };
    // Read by the benchmark (bench/lib/worker-measurements.ts), which reports these figures.
    console.log(`edge latency: ${JSON.stringify(figures)}`);
    expect(figures.send_otp.p50).toBeGreaterThan(0);
  }, 30_000);
});
