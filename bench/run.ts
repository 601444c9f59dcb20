/**
 * `npm run bench` (and `npm run bench -- --smoke` for CI's short run).
 *
 * Method, in short (BENCHMARKS.md has it in full):
 * 1. A fake Fast2SMS server on loopback, in this process, that answers at once.
 * 2. Two `wrangler dev` servers (workerd) on loopback with the same settings:
 *    the service, with FAST2SMS_BASE_URL pointed at the fake, and a bare Hono
 *    baseline (bench/baseline/) that answers a JSON POST with no storage.
 * 3. Warm-up, then rounds of four phases, each with the same number of
 *    virtual users, bounded in time and requests: baseline POST /echo;
 *    /send-otp alone (fresh number each); /verify-otp alone (the codes just
 *    sent, read from the fake); whole flows send → code → verify.
 *    Around each phase, the CPU time (utime + stime in /proc/<pid>/stat) of
 *    the target's workerd processes is read, giving CPU ms per request.
 *    Then the budget phase: a third `wrangler dev` (bench/primitives) that
 *    binds the service's BudgetShard class is driven alone with concurrent
 *    takes, on one shard and spread over 8, for takes/s per object and CPU
 *    per take (the capacity model's inputs, BENCHMARKS.md).
 *    Then the isolate-CPU phase (lib/isolate-cpu.ts): one service per signing
 *    key type (HS256, EdDSA, RS256, the Firebase token on), sign-ins one request
 *    at a time under a V8 profile through workerd's inspector, each sample
 *    given to the request whose window it falls in.
 * 4. The bundle wrangler would deploy (`wrangler deploy --dry-run --outdir`),
 *    gzipped, with its largest contributors; then, inside workerd (vitest), the
 *    sequential round trips, the storage calls per endpoint with every KV and
 *    Durable Object binding wrapped, and the edge-latency simulation
 *    (lib/worker-measurements.ts).
 * 5. Results to bench/results/results.json and bench/results/chart.svg (git-ignored, so a
 *    run leaves the clone as it was; `--out bench/results.json` updates the committed
 *    figures BENCHMARKS.md shows, the chart beside it), a table to stdout, and
 *    benchmarks.md beside the results: every table BENCHMARKS.md shows
 *    (`--update-docs` also writes it into BENCHMARKS.md's generated part).
 *    Exit code 1 if any request failed (the figures would be of the wrong thing).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { startFakeFast2Sms } from "../scripts/lib/fake-fast2sms-server.ts";
import { type DevServer, REPO_ROOT, startWranglerDev } from "../scripts/lib/wrangler-dev.ts";
import { type BenchConfig, FULL, SMOKE } from "./lib/bench-config.ts";
import { budgetShardPhases } from "./lib/budget-phase.ts";
import { measureBundle } from "./lib/bundle-size.ts";
import { chartSvg } from "./lib/chart-svg.ts";
import { LoopbackClient } from "./lib/http-client.ts";
import { type IsolateCpu, measureBaselineCpu, measureIsolateCpu, startKeyTypeServers } from "./lib/isolate-cpu.ts";
import { describeMachine } from "./lib/machine.ts";
import { markdownReport, updateBenchmarksMd } from "./lib/markdown-report.ts";
import { baselinePhase, flowPhase, type PendingCode, type PhaseContext, sendPhase, verifyPhase } from "./lib/phases.ts";
import { indianMobiles } from "./lib/phones.ts";
import { reportTable } from "./lib/report-table.ts";
import { buildResults, type Round, totalFailures } from "./lib/results.ts";
import { serviceSettings } from "./lib/service-settings.ts";
import { benchStateRoot } from "./lib/state-root.ts";
import { measureInWorkerd } from "./lib/worker-measurements.ts";

const { values: args } = parseArgs({
  options: {
    smoke: { type: "boolean" },
    out: { type: "string" },
    "state-root": { type: "string" },
    "update-docs": { type: "boolean" },
  },
});
const config: BenchConfig = args.smoke ? SMOKE : FULL;
// The chart goes beside the results. Without --out, nothing tracked is written.
const out = resolve(
  args.out ??
    (args.smoke
      ? join(tmpdir(), "phone-otp-bench-smoke", "results.json")
      : join(REPO_ROOT, "bench/results/results.json")),
);
const chartPath = join(dirname(out), "chart.svg");
// Beside the results, but never into the tracked bench/ folder (--out bench/results.json): there, in bench/results/.
const markdownPath = join(
  dirname(out) === join(REPO_ROOT, "bench") ? join(REPO_ROOT, "bench/results") : dirname(out),
  "benchmarks.md",
);
const stateRoot = args["state-root"] ?? benchStateRoot();

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

async function main(): Promise<number> {
  const fast2sms = await startFakeFast2Sms({ keepAll: false });
  const settings = serviceSettings(fast2sms.url);
  const servers: DevServer[] = [];
  let stopped = false;
  const stopAll = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.allSettled(servers.map((s) => s.stop()));
    await fast2sms.close();
  };
  process.once("SIGINT", () => void stopAll().then(() => process.exit(130)));
  const client = new LoopbackClient(config.users * 2);
  try {
    log(
      `starting wrangler dev for the service and the baseline (${config.mode} run, local storage under ${stateRoot})`,
    );
    const started = await Promise.allSettled([
      startWranglerDev(settings, { stateRoot }),
      startWranglerDev(settings, { stateRoot, config: "bench/baseline/wrangler.toml" }),
      startWranglerDev(settings, { stateRoot, config: "bench/primitives/wrangler.toml" }),
    ]);
    for (const s of started) if (s.status === "fulfilled") servers.push(s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
    const [app, baseline, primitives] = servers as [DevServer, DevServer, DevServer];
    log(`workerd pids: service ${app.workerdPids().join(",")}, baseline ${baseline.workerdPids().join(",")}`);

    const ctx: PhaseContext = { app, baseline, fast2sms, client, phones: indianMobiles() };
    const bounds = { users: config.users, seconds: config.phaseSeconds, maxIterations: config.maxIterationsPerPhase };
    const warmup = { ...bounds, seconds: config.warmupSeconds };
    await baselinePhase(ctx, warmup);
    await flowPhase(ctx, warmup);

    const rounds: Round[] = [];
    for (let i = 1; i <= config.rounds; i++) {
      const pending: PendingCode[] = [];
      const round: Round = {
        baseline: await baselinePhase(ctx, bounds),
        send: await sendPhase(ctx, bounds, pending),
        verify: await verifyPhase(ctx, bounds, pending),
        flow: await flowPhase(ctx, bounds),
      };
      rounds.push(round);
      log(
        `round ${i}/${config.rounds}: echo ${round.baseline.recorder.count("echo")}, send ${round.send.recorder.count("send-otp")}, verify ${round.verify.recorder.count("verify-otp")}, flows ${round.flow.recorder.count("flow")}`,
      );
    }
    log("budget phase: concurrent takes on BudgetShard objects alone (bench/primitives)");
    const budgetShards = await budgetShardPhases(primitives, client, bounds, [1, 8]);
    log("isolate CPU of the bare baseline's POST /echo, one request at a time under a V8 profile");
    const baselineCpu = await measureBaselineCpu(baseline, client, ctx.phones, config.cpuFlows * 3);
    await Promise.allSettled(servers.map((s) => s.stop()));

    log("isolate CPU phase: one service per signing key type, sign-ins one request at a time under a V8 profile");
    const keyed = await startKeyTypeServers(settings, stateRoot);
    const isolateCpu: IsolateCpu[] = [];
    try {
      for (const { keyType, server } of keyed) {
        isolateCpu.push(await measureIsolateCpu(keyType, server, client, fast2sms, ctx.phones, config.cpuFlows));
      }
    } finally {
      await Promise.allSettled(keyed.map((k) => k.server.stop()));
    }
    await stopAll();

    log("measuring the bundle (wrangler deploy --dry-run)");
    const bundle = await measureBundle();
    log("in workerd: sequential round trips, storage calls per endpoint, the edge-latency simulation");
    const results = buildResults(config, describeMachine(), rounds, bundle, measureInWorkerd(), budgetShards, {
      byKeyType: isolateCpu,
      baseline: baselineCpu,
    });
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(chartPath, chartSvg(results));
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
    const markdown = markdownReport(results, commit);
    mkdirSync(dirname(markdownPath), { recursive: true });
    writeFileSync(markdownPath, `${markdown}\n`);
    if (args["update-docs"]) updateBenchmarksMd(join(REPO_ROOT, "BENCHMARKS.md"), markdown);
    process.stdout.write(
      `${reportTable(results)}\nwrote ${out} and ${chartPath}\nBENCHMARKS.md's tables: ${markdownPath}${args["update-docs"] ? " (written into BENCHMARKS.md)" : ""}\n`,
    );

    const failures = totalFailures(results);
    if (failures > 0) {
      const samples = rounds.flatMap((r) => Object.values(r).flatMap((p) => p.recorder.failureSamples));
      log(`${failures} requests failed, e.g.:\n${samples.slice(0, 5).join("\n")}`);
      return 1;
    }
    return 0;
  } finally {
    client.close();
    await stopAll();
  }
}

process.exitCode = await main();
