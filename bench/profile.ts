/**
 * `npm run bench:profile`: where the service's CPU time goes, for BENCHMARKS.md.
 *
 * Runs /send-otp alone, then /verify-otp alone (as in `npm run bench`), under
 * `wrangler dev` with the fake Fast2SMS, and for each:
 * - the CPU time (user and kernel) of every process involved, per request,
 *   from /proc: wrangler's two workerd processes (the dev proxy in front, and
 *   the runtime that runs the Worker, its Durable Object and the local KV
 *   emulation), wrangler's Node process, and this driver;
 * - a V8 sampling profile of the Worker's isolate taken through the inspector
 *   port (Chrome DevTools Protocol), with self time per package and function.
 *   The .cpuprofile files go to bench/results/ (git-ignored) for DevTools.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startFakeFast2Sms } from "../scripts/lib/fake-fast2sms-server.ts";
import { cpuSplitMs, descendantsNamed } from "../scripts/lib/process-cpu.ts";
import { REPO_ROOT, startWranglerDev } from "../scripts/lib/wrangler-dev.ts";
import { CdpClient } from "./lib/cdp-client.ts";
import { LoopbackClient } from "./lib/http-client.ts";
import { flowPhase, sendPhase, verifyPhase, type PendingCode, type PhaseContext, type PhaseResult } from "./lib/phases.ts";
import { indianMobiles } from "./lib/phones.ts";
import { serviceSettings } from "./lib/service-settings.ts";
import { benchStateRoot } from "./lib/state-root.ts";
import { perfAvailable, perfCategories, startPerfRecord } from "./lib/perf-categories.ts";
import { moduleLines, summarizeProfile, type CpuProfile } from "./lib/profile-summary.ts";

const { values: args } = parseArgs({
  options: {
    users: { type: "string", default: "16" },
    seconds: { type: "string", default: "5" },
    "state-root": { type: "string" },
  },
});
const USERS = Number(args.users);
const SECONDS = Number(args.seconds);
const outDir = join(REPO_ROOT, "bench/results");

/** wrangler's dev proxy is the workerd that listens on the URL we call; the other one runs the Worker. */
const isDevProxy = (pid: number) =>
  readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`entry=127.0.0.1:${new URL(app.url).port}`);

const fast2sms = await startFakeFast2Sms({ keepAll: false });
const app = await startWranglerDev(serviceSettings(fast2sms.url), { stateRoot: args["state-root"] ?? benchStateRoot() });
const client = new LoopbackClient(USERS * 2);
const cdp = await CdpClient.connect(app.inspectorPort);
try {
  const ctx: PhaseContext = { app, baseline: app, fast2sms, client, phones: indianMobiles() };
  const bounds = { users: USERS, seconds: SECONDS, maxIterations: 20_000 };
  await flowPhase(ctx, { ...bounds, seconds: 2 });

  const processes = [
    ...app.workerdPids().map((pid) => [pid, isDevProxy(pid) ? "workerd (dev proxy)" : "workerd (runtime)"] as const),
    ...descendantsNamed(app.pid, "MainThread").map((pid) => [pid, "wrangler (node)"] as const),
    [process.pid, "bench driver (node)"] as const,
  ];
  await cdp.send("Profiler.enable");
  // 1 ms sampling: coarse enough not to weigh on the isolate, fine enough for a few thousand samples per phase.
  await cdp.send("Profiler.setSamplingInterval", { interval: 1000 });
  const runtimePid = app.workerdPids().find((pid) => !isDevProxy(pid))!;
  const withPerf = perfAvailable();
  mkdirSync(outDir, { recursive: true });
  const pending: PendingCode[] = [];
  const profiles: Array<[string, string, CpuProfile, PhaseResult, Map<number, { userMs: number; sysMs: number }>]> = [];
  for (const [name, label, run] of [
    ["send", "send-otp", () => sendPhase(ctx, bounds, pending)],
    ["verify", "verify-otp", () => verifyPhase(ctx, bounds, pending)],
  ] as const) {
    const before = new Map(processes.map(([pid]) => [pid, cpuSplitMs(pid)!]));
    const perfFile = join(outDir, `perf-${name}.data`);
    const perf = withPerf ? startPerfRecord(runtimePid, perfFile) : undefined;
    await cdp.send("Profiler.start");
    const phase = await run();
    const { profile } = await cdp.send<{ profile: CpuProfile }>("Profiler.stop");
    if (perf) {
      perf.kill("SIGINT");
      await new Promise((r) => perf.once("exit", r));
    }
    const used = new Map(
      processes.map(([pid]) => {
        const [a, b] = [cpuSplitMs(pid)!, before.get(pid)!];
        return [pid, { userMs: a.userMs - b.userMs, sysMs: a.sysMs - b.sysMs }];
      }),
    );
    profiles.push([name, label, profile, phase, used]);
  }

  // Map profile lines back to modules through the bundled script's `// <path>` markers.
  const scripts = new Map<string, (line: number) => string>();
  await cdp.send("Debugger.enable");
  const moduleOf = (scriptId: string, line: number) => scripts.get(scriptId)?.(line);
  for (const [, , profile] of profiles) {
    for (const node of profile.nodes) {
      const id = node.callFrame.scriptId;
      if (!node.callFrame.url || scripts.has(id)) continue;
      const { scriptSource } = await cdp.send<{ scriptSource: string }>("Debugger.getScriptSource", { scriptId: id });
      scripts.set(id, moduleLines(scriptSource));
    }
  }

  for (const [name, label, profile, phase, used] of profiles) {
    const n = phase.recorder.count(label);
    const per = (ms: number) => (ms / n).toFixed(3);
    const file = join(outDir, `profile-${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    const summary = summarizeProfile(profile, moduleOf);
    console.log(`\n== ${label}: ${n} requests in ${phase.seconds.toFixed(1)} s (${(n / phase.seconds).toFixed(0)} req/s), ms per request`);
    for (const [pid, what] of processes) {
      const u = used.get(pid)!;
      console.log(`  ${what.padEnd(22)} user ${per(u.userMs)}  sys ${per(u.sysMs)}`);
    }
    console.log(`  Worker isolate (V8 profile): busy ${per(summary.busyMs)} of which:`);
    for (const [group, ms] of summary.byGroup.filter(([g]) => g !== "(idle)").slice(0, 12)) {
      console.log(`    ${group.padEnd(40)} ${per(ms)}`);
    }
    console.log("  top functions (self time):");
    for (const [fn, ms] of summary.topFunctions.filter(([f]) => f !== "(idle)").slice(0, 15)) {
      console.log(`    ${fn.slice(0, 90).padEnd(90)} ${per(ms)}`);
    }
    console.log(`  profile: ${file}`);
    if (withPerf) {
      console.log("  workerd (runtime) native profile (perf), share of its samples:");
      for (const [category, pct] of perfCategories(join(outDir, `perf-${name}.data`))) {
        console.log(`    ${category.padEnd(50)} ${pct.toFixed(1)}%`);
      }
    }
  }
} finally {
  cdp.close();
  client.close();
  await app.stop();
  await fast2sms.close();
}
