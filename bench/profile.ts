/**
 * `npm run bench:profile`: where the service's CPU time goes, for BENCHMARKS.md.
 *
 * Starts the service (with the fake Fast2SMS, as `npm run bench` does) and
 * bench/primitives/, a Worker with one route per runtime primitive the
 * service's requests are built from, both under `wrangler dev`. Then:
 *
 * 1. Cost ladder, with no profiler attached: in each round, POST /echo and
 *    each primitive on the primitives Worker, then /send-otp alone and
 *    /verify-otp alone on the service; workerd CPU per request above /echo,
 *    median over rounds. Each service request is set against what its
 *    primitives add up to (RECIPES in lib/primitive-costs.ts); the rest is the
 *    Worker's own code (Hono, validation, phone parsing, hashing, signing).
 * 2. Profiles of /send-otp and /verify-otp: the CPU time (user and kernel) of
 *    every process involved, per request, from /proc (wrangler's two workerd
 *    processes: the dev proxy in front, and the runtime that runs the Worker,
 *    its Durable Objects and the local KV emulation; wrangler's Node process;
 *    this driver); a V8 sampling profile of the Worker's isolate through the
 *    inspector port, with self time per package and function; and, when Linux
 *    `perf` is installed, the runtime's native samples by category. The
 *    .cpuprofile files (open them in Chrome DevTools) and the perf data go to
 *    bench/results/ (git-ignored).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startFakeFast2Sms } from "../scripts/lib/fake-fast2sms-server.ts";
import { cpuSplitMs, descendantsNamed } from "../scripts/lib/process-cpu.ts";
import { type DevServer, REPO_ROOT, startWranglerDev } from "../scripts/lib/wrangler-dev.ts";
import { CdpClient } from "./lib/cdp-client.ts";
import { LoopbackClient } from "./lib/http-client.ts";
import { perfAvailable, perfCategories, startPerfRecord } from "./lib/perf-categories.ts";
import {
  flowPhase,
  type PendingCode,
  type PhaseContext,
  type PhaseResult,
  sendPhase,
  verifyPhase,
} from "./lib/phases.ts";
import { indianMobiles } from "./lib/phones.ts";
import { PRIMITIVES, type Primitive, primitiveRound, RECIPES, recipeCost } from "./lib/primitive-costs.ts";
import { type CpuProfile, moduleLines, summarizeProfile } from "./lib/profile-summary.ts";
import { serviceSettings } from "./lib/service-settings.ts";
import { benchStateRoot } from "./lib/state-root.ts";
import { median } from "./lib/stats.ts";
import type { LoadBounds } from "./lib/virtual-users.ts";

const { values: args } = parseArgs({
  options: {
    users: { type: "string", default: "16" },
    seconds: { type: "string", default: "3" },
    rounds: { type: "string", default: "5" },
    "state-root": { type: "string" },
  },
});
const bounds: LoadBounds = { users: Number(args.users), seconds: Number(args.seconds), maxIterations: 20_000 };
const ROUNDS = Number(args.rounds);
const stateRoot = args["state-root"] ?? benchStateRoot();
const outDir = join(REPO_ROOT, "bench/results");
const ms = (x: number) => x.toFixed(3).padStart(7);
const cpuPerRequest = (p: PhaseResult, label: string) => p.cpuMs / Math.max(1, p.recorder.count(label));
type Endpoint = keyof typeof RECIPES;

/** Part 1: the primitives' costs, and each service request against what its primitives add up to. */
async function costLadder(ctx: PhaseContext, primitives: DevServer): Promise<void> {
  const rounds: Array<Record<Primitive | Endpoint, number>> = [];
  for (let i = 1; i <= ROUNDS; i++) {
    const { echoMs, aboveEchoMs } = await primitiveRound(primitives, ctx.client, ctx.phones, bounds);
    const pending: PendingCode[] = [];
    const send = cpuPerRequest(await sendPhase(ctx, bounds, pending), "send-otp");
    const verify = cpuPerRequest(await verifyPhase(ctx, bounds, pending), "verify-otp");
    rounds.push({ ...aboveEchoMs, "send-otp": send - echoMs, "verify-otp": verify - echoMs });
    process.stderr.write(`[profile] cost ladder round ${i}/${ROUNDS}\n`);
  }
  const med = (key: Primitive | Endpoint) => median(rounds.map((r) => r[key]));
  const costs = Object.fromEntries((Object.keys(PRIMITIVES) as Primitive[]).map((p) => [p, med(p)])) as Record<
    Primitive,
    number
  >;
  console.log(
    `\n== runtime primitives: workerd CPU ms per request above a bare JSON answer (median of ${ROUNDS} rounds)`,
  );
  for (const [path, { what }] of Object.entries(PRIMITIVES))
    console.log(`  ${path.padEnd(11)} ${ms(costs[path as Primitive])}  ${what}`);
  console.log("\n== service requests against their primitives (workerd CPU ms per request above a bare JSON answer)");
  for (const [label, recipe] of Object.entries(RECIPES) as Array<[Endpoint, (typeof RECIPES)[Endpoint]]>) {
    const floor = recipeCost(recipe, costs);
    const parts = Object.entries(recipe)
      .map(([p, n]) => (n === 1 ? p : `${n}×${p}`))
      .join(" + ");
    console.log(
      `  ${label.padEnd(10)} measured ${ms(med(label))} = primitives ${ms(floor)} (${parts}) + the Worker's own code ${ms(med(label) - floor)}`,
    );
  }
}

/** Part 2: per-process CPU, the isolate's V8 profile and the runtime's native profile, for send and verify. */
async function profiles(ctx: PhaseContext, cdp: CdpClient): Promise<void> {
  const { app } = ctx;
  // wrangler's dev proxy is the workerd that listens on the URL we call; the other one runs the Worker.
  const isDevProxy = (pid: number) =>
    readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`entry=127.0.0.1:${new URL(app.url).port}`);
  const processes = [
    ...app.workerdPids().map((pid) => [pid, isDevProxy(pid) ? "workerd (dev proxy)" : "workerd (runtime)"] as const),
    ...descendantsNamed(app.pid, "MainThread").map((pid) => [pid, "wrangler (node)"] as const),
    [process.pid, "bench driver (node)"] as const,
  ];
  const runtimePid = app.workerdPids().find((pid) => !isDevProxy(pid))!;
  const withPerf = perfAvailable();
  await cdp.send("Profiler.enable");
  // 1 ms sampling: coarse enough not to weigh on the isolate, fine enough for a few thousand samples per phase.
  await cdp.send("Profiler.setSamplingInterval", { interval: 1000 });
  mkdirSync(outDir, { recursive: true });

  const pending: PendingCode[] = [];
  const runs: Array<{
    name: string;
    label: string;
    profile: CpuProfile;
    phase: PhaseResult;
    used: Map<number, { userMs: number; sysMs: number }>;
  }> = [];
  for (const [name, label, run] of [
    ["send", "send-otp", () => sendPhase(ctx, bounds, pending)],
    ["verify", "verify-otp", () => verifyPhase(ctx, bounds, pending)],
  ] as const) {
    const before = new Map(processes.map(([pid]) => [pid, cpuSplitMs(pid)!]));
    const perf = withPerf ? startPerfRecord(runtimePid, join(outDir, `perf-${name}.data`)) : undefined;
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
    runs.push({ name, label, profile, phase, used });
  }

  // Map profile lines back to modules through the bundled script's `// <path>` markers.
  const scripts = new Map<string, (line: number) => string>();
  await cdp.send("Debugger.enable");
  for (const { profile } of runs) {
    for (const node of profile.nodes) {
      const id = node.callFrame.scriptId;
      if (!node.callFrame.url || scripts.has(id)) continue;
      const { scriptSource } = await cdp.send<{ scriptSource: string }>("Debugger.getScriptSource", { scriptId: id });
      scripts.set(id, moduleLines(scriptSource));
    }
  }
  const moduleOf = (scriptId: string, line: number) => scripts.get(scriptId)?.(line);

  for (const { name, label, profile, phase, used } of runs) {
    const n = phase.recorder.count(label);
    const per = (x: number) => ms(x / n);
    const file = join(outDir, `profile-${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    const summary = summarizeProfile(profile, moduleOf);
    console.log(
      `\n== ${label} under the profilers: ${n} requests in ${phase.seconds.toFixed(1)} s, CPU ms per request`,
    );
    for (const [pid, what] of processes) {
      const u = used.get(pid)!;
      console.log(`  ${what.padEnd(22)} user ${per(u.userMs)}  sys ${per(u.sysMs)}`);
    }
    console.log(
      `  Worker isolate (V8 sampling profile, wall time while not idle): ${per(summary.busyMs)}, by package:`,
    );
    for (const [group, t] of summary.byGroup.filter(([g]) => g !== "(idle)").slice(0, 12))
      console.log(`    ${group.padEnd(40)} ${per(t)}`);
    console.log("  top functions (self time):");
    for (const [fn, t] of summary.topFunctions.filter(([f]) => f !== "(idle)").slice(0, 15)) {
      console.log(`    ${fn.slice(0, 90).padEnd(90)} ${per(t)}`);
    }
    console.log(`  profile: ${file}`);
    if (withPerf) {
      console.log("  workerd (runtime) native samples (perf), share by category:");
      for (const [category, pct] of perfCategories(join(outDir, `perf-${name}.data`))) {
        console.log(`    ${category.padEnd(50)} ${pct.toFixed(1).padStart(5)}%`);
      }
    }
  }
}

const fast2sms = await startFakeFast2Sms({ keepAll: false });
const servers = await Promise.allSettled([
  // Unminified, so profile lines map to modules through the bundle's `// <path>` markers.
  startWranglerDev(serviceSettings(fast2sms.url), { stateRoot, extraArgs: ["--no-minify"] }),
  startWranglerDev({ FAST2SMS_BASE_URL: fast2sms.url }, { stateRoot, config: "bench/primitives/wrangler.toml" }),
]);
const client = new LoopbackClient(bounds.users * 2);
let cdp: CdpClient | undefined;
try {
  const [app, primitives] = servers.map((s) => {
    if (s.status === "rejected") throw s.reason;
    return s.value;
  }) as [DevServer, DevServer];
  const ctx: PhaseContext = { app, baseline: primitives, fast2sms, client, phones: indianMobiles() };
  await flowPhase(ctx, { ...bounds, seconds: 2 }); // warm-up
  await primitiveRound(primitives, client, ctx.phones, { ...bounds, seconds: 0.5 }); // warm-up
  await costLadder(ctx, primitives);
  cdp = await CdpClient.connect(app.inspectorPort);
  await profiles(ctx, cdp);
} finally {
  cdp?.close();
  client.close();
  await Promise.allSettled(servers.map((s) => (s.status === "fulfilled" ? s.value.stop() : undefined)));
  await fast2sms.close();
}
