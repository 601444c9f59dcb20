import { readFileSync, writeFileSync } from "node:fs";
import type { BenchResults } from "./results.ts";

/** BENCHMARKS.md's generated part sits between these two lines; `npm run bench -- --update-docs` rewrites it. */
export const BEGIN = "<!-- bench:begin (npm run bench -- --update-docs writes this part) -->";
export const END = "<!-- bench:end -->";

const f = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "–");
const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

/** Every figure BENCHMARKS.md shows from one run, as Markdown tables. */
export function markdownReport(r: BenchResults, commit: string): string {
  const { baseline, sendOtp, verifyOtp } = r.endpoints;
  const { flow } = r;
  const lat = (l: { p50: number; p95: number; p99: number }) => `${f(l.p50)} | ${f(l.p95)} | ${f(l.p99)}`;
  const calls = r.storageCalls;
  const cpu = r.isolateCpu;
  const edge = r.edgeLatency;
  const d = edge.delaysMs;
  return [
    `\`npm run bench\` (${r.config.mode} run), ${r.generatedAt.slice(0, 16).replace("T", " ")} UTC, on the code of commit \`${commit}\` (${r.config.users} virtual users, ${r.config.rounds} rounds of ${r.config.phaseSeconds} s per phase).`,
    "",
    "| | requests/s | p50 ms | p95 ms | p99 ms | workerd CPU ms/request | above baseline |",
    "|---|---:|---:|---:|---:|---:|---:|",
    `| baseline \`POST /echo\` (bare Hono) | ${f(baseline.requestsPerSecond, 0)} | ${lat(baseline.latencyMs)} | ${f(baseline.cpuMsPerRequest, 2)} | – |`,
    `| \`POST /send-otp\` alone | ${f(sendOtp.requestsPerSecond, 0)} (${pct(sendOtp.ratioToBaseline.requestsPerSecond)} of baseline) | ${lat(sendOtp.latencyMs)} | ${f(sendOtp.cpuMsPerRequest, 2)} | ${f(sendOtp.cpuMsPerRequestAboveBaseline, 2)} |`,
    `| \`POST /verify-otp\` alone | ${f(verifyOtp.requestsPerSecond, 0)} (${pct(verifyOtp.ratioToBaseline.requestsPerSecond)} of baseline) | ${lat(verifyOtp.latencyMs)} | ${f(verifyOtp.cpuMsPerRequest, 2)} | ${f(verifyOtp.cpuMsPerRequestAboveBaseline, 2)} |`,
    `| \`/send-otp\` within flows | | ${lat(flow.latencyMs.sendOtp)} | | |`,
    `| \`/verify-otp\` within flows | | ${lat(flow.latencyMs.verifyOtp)} | | |`,
    `| all requests within flows | **${f(flow.requestsPerSecond, 0)}** (**${f(flow.shareOfBaselineRequestsPerSecond * 100)}%** of baseline) | | | | | |`,
    `| whole flows (send → code → verify) | **${f(flow.flowsPerSecond)} flows/s** | ${lat(flow.latencyMs.flow)} | | ${f(flow.cpuMsPerFlowAboveBaseline, 2)} per flow |`,
    "",
    `${flow.flows} flows, ${sendOtp.requests} sends and ${verifyOtp.requests} verifies alone, ${baseline.requests} baseline requests; failures: ${flow.failures + sendOtp.failures + verifyOtp.failures + baseline.failures}.`,
    "",
    "#### Targets",
    "",
    "| target | goal | this run | verdict |",
    "|---|---|---:|---|",
    ...r.targets.map(
      (t) => `| ${t.name} | ${t.goal} | ${t.value}${t.unit ? ` ${t.unit}` : ""} | ${t.met ? "met" : "**missed**"} |`,
    ),
    "",
    "#### Storage calls per endpoint",
    "",
    "Every KV and Durable Object binding wrapped (found by its shape), work after the response included; default settings, an IPv4 client that is not a carrier's.",
    "",
    "| endpoint | one sign-in alone | per sign-in, 16 at once | the calls (alone) |",
    "|---|---:|---:|---|",
    `| \`POST /send-otp\` | ${calls.lone.sendOtp} | ${calls.concurrent16.sendOtp} + stats | ${(calls.lone.calls.send_otp ?? []).join(", ")} |`,
    `| \`POST /verify-otp\` | ${calls.lone.verifyOtp} | ${calls.concurrent16.verifyOtp} + stats | ${(calls.lone.calls.verify_otp ?? []).join(", ")} |`,
    `| the operator's stats (batched, \`STATS_FLUSH_MS\`) | in the rows above | ${f(calls.concurrent16.stats, 2)} | STATS_COUNTER.record |`,
    `| **sign-in (send + verify)** | **${calls.lone.signIn}** | **${f(calls.concurrent16.signIn, 2)}** | |`,
    `| \`POST /token/refresh\` | ${calls.lone.refresh} | ${calls.concurrent16.refresh} | ${(calls.lone.calls.refresh ?? []).join(", ")} |`,
    "",
    "#### The Worker isolate's CPU per request (V8 profile through workerd's inspector)",
    "",
    `ms per request, the Durable Objects' share left out (with it in brackets); the Firebase custom token on; ${cpu[0]?.byEndpoint.send.requests ?? 0} requests of each kind per key type, one at a time.`,
    "",
    "| signing key | send p50 | send p99 | verify p50 | verify p99 | refresh p50 | refresh p99 |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ...cpu.map((c) => {
      const cell = (e: "send" | "verify" | "refresh", p: "p50" | "p99") =>
        `${f(c.byEndpoint[e][p], 2)} (${f(c.withObjects[e][p], 2)})`;
      return `| ${c.keyType} | ${cell("send", "p50")} | ${cell("send", "p99")} | ${cell("verify", "p50")} | ${cell("verify", "p99")} | ${cell("refresh", "p50")} | ${cell("refresh", "p99")} |`;
    }),
    `| bare Hono \`POST /echo\` (baseline), the same way | ${f(r.isolateCpuBaseline.p50, 2)} | ${f(r.isolateCpuBaseline.p99, 2)} | | | | |`,
    "",
    "Where the HS256 requests' CPU goes (self time per request, ms, Durable Objects left out; `(native) …` are calls into the runtime such as RPC stubs, `(program)` the runtime's own work in the isolate):",
    "",
    "| request | largest parts |",
    "|---|---|",
    ...(["send", "verify", "refresh"] as const).map((e) => {
      const hs = cpu.find((c) => c.keyType === "HS256");
      const parts = (hs?.selfByModule[e] ?? [])
        .slice(0, 8)
        .map(([m, ms]) => `${m.replace(/^src\//, "")} ${ms.toFixed(2)}`);
      return `| ${e} | ${parts.join(", ")} |`;
    }),
    "",
    "#### Latency at the edge, simulated",
    "",
    `Each Durable Object call held ${d.do_call} ms, a KV write ${d.kv_write} ms, a KV read ${d.kv_read_hot} ms (one in ${d.cold_every} cold: ${d.kv_read_cold} ms), the gateway ${d.gateway} ms; ${edge.signIns} sign-ins one at a time.`,
    "",
    "| request | p50 ms | p95 ms | the same without delays, p50 / p95 ms |",
    "|---|---:|---:|---:|",
    `| \`POST /send-otp\` | ${edge.sendOtp.p50} | ${edge.sendOtp.p95} | ${edge.localWithoutDelays.sendOtp.p50} / ${edge.localWithoutDelays.sendOtp.p95} |`,
    `| \`POST /verify-otp\` | ${edge.verifyOtp.p50} | ${edge.verifyOtp.p95} | ${edge.localWithoutDelays.verifyOtp.p50} / ${edge.localWithoutDelays.verifyOtp.p95} |`,
    "",
    "#### Bundle",
    "",
    `${r.bundle.gzipBytes.toLocaleString("en")} bytes gzip = **${f(r.bundle.gzipBytes / 1024)} KiB** (${r.bundle.minified ? "minified" : "not minified"}, ${f(r.bundle.rawBytes / 1024, 0)} KiB before gzip), ${(r.bundle.shareOfLimit * 100).toFixed(2)}% of the ${r.bundle.limitName} limit. Largest parts (marginal gzip, unminified build): ${r.bundle.largestParts
      .slice(0, 5)
      .map((c) => `${c.name} ${f(c.gzipBytes / 1024)} KiB`)
      .join(", ")}.`,
  ].join("\n");
}

/** Rewrites BENCHMARKS.md's generated part with this run's report. */
export function updateBenchmarksMd(path: string, report: string): void {
  const text = readFileSync(path, "utf8");
  const [start, end] = [text.indexOf(BEGIN), text.indexOf(END)];
  if (start < 0 || end < start) throw new Error(`${path} has no "${BEGIN}" … "${END}" part to rewrite`);
  writeFileSync(path, `${text.slice(0, start + BEGIN.length)}\n${report}\n${text.slice(end)}`);
}
