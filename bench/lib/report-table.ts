import type { BenchResults } from "./results.ts";
import type { LatencySummary } from "./stats.ts";

/** A compact plain-text report of a run: endpoints, flows, bundle and targets. */
export function reportTable(r: BenchResults): string {
  const { baseline, sendOtp, verifyOtp } = r.endpoints;
  const lat = (l: LatencySummary) => [l.p50, l.p95, l.p99].map((x) => x.toFixed(1));
  const rows: string[][] = [
    ["", "req/s", "p50 ms", "p95 ms", "p99 ms", "CPU ms/req", "above baseline"],
    [
      "baseline POST /echo",
      baseline.requestsPerSecond.toFixed(0),
      ...lat(baseline.latencyMs),
      baseline.cpuMsPerRequest.toFixed(3),
      "-",
    ],
    [
      "POST /send-otp",
      sendOtp.requestsPerSecond.toFixed(0),
      ...lat(sendOtp.latencyMs),
      sendOtp.cpuMsPerRequest.toFixed(3),
      sendOtp.cpuMsPerRequestAboveBaseline.toFixed(3),
    ],
    [
      "POST /verify-otp",
      verifyOtp.requestsPerSecond.toFixed(0),
      ...lat(verifyOtp.latencyMs),
      verifyOtp.cpuMsPerRequest.toFixed(3),
      verifyOtp.cpuMsPerRequestAboveBaseline.toFixed(3),
    ],
    ["in flow: send-otp", "", ...lat(r.flow.latencyMs.sendOtp), "", ""],
    ["in flow: verify-otp", "", ...lat(r.flow.latencyMs.verifyOtp), "", ""],
    [
      "whole flow",
      `${r.flow.flowsPerSecond.toFixed(0)} flows/s`,
      ...lat(r.flow.latencyMs.flow),
      "",
      `${r.flow.cpuMsPerFlowAboveBaseline.toFixed(3)} /flow`,
    ],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  const b = r.bundle;
  return [
    `phone-otp benchmark (${r.config.mode}: ${r.config.users} users, ${r.config.rounds} rounds × ${r.config.phaseSeconds} s per phase; CPU = workerd utime+stime, median of rounds)`,
    ...rows.map(line),
    `in-flow requests: ${r.flow.requestsPerSecond.toFixed(0)} req/s = ${(r.flow.shareOfBaselineRequestsPerSecond * 100).toFixed(1)}% of baseline; ${r.flow.flows} flows, failures: ${r.flow.failures}`,
    `sequential storage round trips (counted): /send-otp ${r.storageRoundTrips.sendOtpBeforeSms} before the SMS, /verify-otp ${r.storageRoundTrips.verifyOtp}`,
    `storage calls (every KV and Durable Object binding wrapped): one sign-in alone: /send-otp ${r.storageCalls.lone.sendOtp}, /verify-otp ${r.storageCalls.lone.verifyOtp}, sign-in ${r.storageCalls.lone.signIn}, /token/refresh ${r.storageCalls.lone.refresh}; 16 at once, per sign-in: ${r.storageCalls.concurrent16.signIn} (stats ${r.storageCalls.concurrent16.stats})`,
    ...r.isolateCpu.map((c) => {
      const e = (name: "send" | "verify" | "refresh") =>
        `${name} p50 ${c.byEndpoint[name].p50.toFixed(2)} p99 ${c.byEndpoint[name].p99.toFixed(2)}`;
      return `isolate CPU ms/request (V8 profile, objects left out), ${c.keyType} + Firebase: ${e("send")}, ${e("verify")}, ${e("refresh")}`;
    }),
    `isolate CPU ms/request of the bare baseline's POST /echo, measured the same way: p50 ${r.isolateCpuBaseline.p50.toFixed(2)} p99 ${r.isolateCpuBaseline.p99.toFixed(2)}`,
    `edge latency (simulated): /send-otp p50 ${r.edgeLatency.sendOtp.p50} p95 ${r.edgeLatency.sendOtp.p95} ms, /verify-otp p50 ${r.edgeLatency.verifyOtp.p50} p95 ${r.edgeLatency.verifyOtp.p95} ms`,
    ...r.budgetShards.map(
      (s) =>
        `budget shards alone, ${s.shards} object${s.shards === 1 ? "" : "s"}: ${s.takesPerSecond.toFixed(0)} takes/s (${s.takesPerSecondPerShard.toFixed(0)} per object), CPU ${s.cpuMsPerTake.toFixed(3)} ms/take (${s.cpuMsPerTakeAboveEcho.toFixed(3)} above a bare request), failures: ${s.failures}`,
    ),
    `bundle: ${(b.gzipBytes / 1024).toFixed(1)} KiB gzip (${(b.rawBytes / 1024).toFixed(0)} KiB raw, ${b.minified ? "minified" : "not minified"}) = ${(b.shareOfLimit * 100).toFixed(2)}% of ${b.limitName}`,
    `  largest contributors: ${b.largestParts
      .slice(0, 5)
      .map((c) => `${c.name} ${(c.gzipBytes / 1024).toFixed(1)}`)
      .join(", ")} (KiB gzip, unminified)`,
    ...r.targets.map((t) => `target ${t.met ? "met   " : "MISSED"} ${t.name}: ${t.value} ${t.unit} (goal ${t.goal})`),
  ].join("\n");
}
