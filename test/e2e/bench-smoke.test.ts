import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BenchResults } from "../../bench/lib/results.ts";

/**
 * CI's smoke of `npm run bench`: the real run (wrangler dev for the service
 * and the baseline, the fake Fast2SMS, every phase, the bundle) with a tiny
 * load. It checks that the run completes and reports every figure, not that
 * the service is fast: the targets' verdicts must be there, met or not.
 */
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "phone-otp-bench-smoke-"));
const out = join(dir, "results.json");
let stdout = "";
let results: BenchResults;

beforeAll(async () => {
  ({ stdout } = await run(process.execPath, ["bench/run.ts", "--smoke", "--out", out], { timeout: 230_000 }));
  results = JSON.parse(readFileSync(out, "utf8")) as BenchResults;
}, 240_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const isFinitePositive = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x > 0;

describe("npm run bench -- --smoke", () => {
  it("prints the table and where it wrote the results and the chart", () => {
    expect(stdout).toMatch(/POST \/send-otp/);
    expect(stdout).toMatch(/POST \/verify-otp/);
    expect(stdout).toMatch(/whole flow/);
    expect(stdout).toContain(`wrote ${out} and ${join(dir, "chart.svg")}`);
  });

  it("reports requests/s, p50/p95/p99 and CPU ms per request for every endpoint, with no failed request", () => {
    const { baseline, sendOtp, verifyOtp } = results.endpoints;
    for (const e of [baseline, sendOtp, verifyOtp]) {
      expect(e.requests).toBeGreaterThan(0);
      expect(e.failures).toBe(0);
      for (const x of [e.requestsPerSecond, e.latencyMs.p50, e.latencyMs.p95, e.latencyMs.p99, e.cpuMsPerRequest]) {
        expect(isFinitePositive(x), String(x)).toBe(true);
      }
    }
    for (const e of [sendOtp, verifyOtp]) {
      expect(Number.isFinite(e.cpuMsPerRequestAboveBaseline)).toBe(true);
      for (const ratio of Object.values(e.ratioToBaseline)) expect(isFinitePositive(ratio), String(ratio)).toBe(true);
    }
  });

  it("reports flows/s, in-flow requests/s and their share of the baseline's", () => {
    const { flow } = results;
    expect(flow.flows).toBeGreaterThan(0);
    expect(flow.failures).toBe(0);
    for (const x of [flow.flowsPerSecond, flow.requestsPerSecond, flow.shareOfBaselineRequestsPerSecond]) {
      expect(isFinitePositive(x), String(x)).toBe(true);
    }
    for (const l of Object.values(flow.latencyMs))
      expect([l.count, l.p50, l.p95, l.p99].every(isFinitePositive)).toBe(true);
    expect(Number.isFinite(flow.cpuMsPerFlowAboveBaseline)).toBe(true);
  });

  it("reports the bundle's gzip size and its share of the Workers size limit", () => {
    const { bundle } = results;
    expect(isFinitePositive(bundle.gzipBytes)).toBe(true);
    expect(bundle.rawBytes).toBeGreaterThan(bundle.gzipBytes);
    expect(bundle.shareOfLimit).toBeCloseTo(bundle.gzipBytes / bundle.limitGzipBytes, 6);
    expect(bundle.byPackage.map((c) => c.name)).toContain("src");
  });

  it("gives a verdict on each target: CPU, size, throughput, round trips, storage calls and the isolate's CPU", () => {
    expect(results.targets.map((t) => t.name)).toEqual([
      "send-otp CPU above baseline (median)",
      "verify-otp CPU above baseline (median)",
      "bundle size (gzip)",
      "in-flow requests/s vs baseline",
      "send-otp sequential storage round trips before the SMS",
      "verify-otp sequential storage round trips",
      "storage calls per sign-in, alone (send + verify, after-response work included)",
      "storage calls per sign-in, 16 at once (stats batched)",
      "isolate CPU p99, send, HS256 + Firebase token",
      "isolate CPU p99, verify, HS256 + Firebase token",
      "isolate CPU p99, refresh, HS256 + Firebase token",
    ]);
    for (const t of results.targets) {
      expect(Number.isFinite(t.value)).toBe(true);
      expect(typeof t.met).toBe("boolean");
    }
  });

  it("reports the sequential storage round trips it counted by instrumenting the bindings", () => {
    expect(results.storageRoundTrips).toMatchObject({ sendOtpBeforeSms: 3, verifyOtp: 2 });
    expect(stdout).toMatch(/sequential storage round trips \(counted\): \/send-otp 3 before the SMS, \/verify-otp 2/);
  });

  it("counts the storage calls of every endpoint with every binding wrapped, and prints them", () => {
    const { lone, concurrent16 } = results.storageCalls;
    for (const x of [lone.sendOtp, lone.verifyOtp, lone.refresh, concurrent16.sendOtp, concurrent16.verifyOtp])
      expect(isFinitePositive(x), String(x)).toBe(true);
    expect(lone.signIn).toBe(lone.sendOtp + lone.verifyOtp);
    expect(lone.calls.send_otp).toContain("OTP_KV.put");
    expect(stdout).toMatch(/storage calls \(every KV and Durable Object binding wrapped\): one sign-in alone/);
  });

  it("reports the isolate's CPU p50/p99 for send, verify and refresh with each signing key type", () => {
    expect(results.isolateCpu.map((c) => c.keyType)).toEqual(["HS256", "EdDSA", "RS256"]);
    for (const c of results.isolateCpu) {
      for (const e of Object.values(c.byEndpoint)) {
        expect(e.requests).toBeGreaterThan(0);
        for (const x of [e.p50, e.p99]) expect(Number.isFinite(x) && x >= 0, String(x)).toBe(true);
      }
    }
    expect(stdout).toMatch(/isolate CPU ms\/request .*HS256 \+ Firebase: send p50/);
    expect(results.isolateCpuBaseline.requests).toBeGreaterThan(0);
  });

  it("simulates edge latency: p50 and p95 of send and verify", () => {
    const { sendOtp, verifyOtp } = results.edgeLatency;
    for (const x of [sendOtp.p50, sendOtp.p95, verifyOtp.p50, verifyOtp.p95]) expect(isFinitePositive(x)).toBe(true);
    expect(stdout).toMatch(/edge latency \(simulated\): \/send-otp p50 \d+/);
  });

  it("writes BENCHMARKS.md's tables beside the results", () => {
    const md = readFileSync(join(dir, "benchmarks.md"), "utf8");
    for (const heading of ["#### Targets", "#### Storage calls per endpoint", "#### Latency at the edge, simulated"])
      expect(md).toContain(heading);
    expect(md).not.toContain("NaN");
  });

  it("drives the budget shards alone: takes/s per object and CPU per take, on one shard and on 8", () => {
    expect(results.budgetShards.map((b) => b.shards)).toEqual([1, 8]);
    for (const b of results.budgetShards) {
      expect(b.takes).toBeGreaterThan(0);
      expect(b.failures).toBe(0);
      for (const x of [b.takesPerSecond, b.takesPerSecondPerShard, b.cpuMsPerTake]) {
        expect(isFinitePositive(x), String(x)).toBe(true);
      }
    }
    expect(stdout).toMatch(/budget shards alone, 1 object: \d+ takes\/s/);
  });

  it("draws the chart", () => {
    const svg = readFileSync(join(dir, "chart.svg"), "utf8");
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(svg).toContain("Throughput (requests/s)");
    expect(svg).toContain("Latency (ms)");
    expect(svg).not.toContain("NaN");
  });
});
