import type { BenchConfig } from "./bench-config.ts";
import type { BudgetShardFigures } from "./budget-phase.ts";
import type { BundleReport } from "./bundle-size.ts";
import type { CpuSummary, IsolateCpu } from "./isolate-cpu.ts";
import type { PhaseResult } from "./phases.ts";
import type { StorageRoundTrips } from "./round-trips.ts";
import { type LatencySummary, median, round, summarizeLatencies } from "./stats.ts";
import type { EdgeLatency, StorageCalls, WorkerMeasurements } from "./worker-measurements.ts";

/** The four phases of one round. */
export interface Round {
  baseline: PhaseResult;
  send: PhaseResult;
  verify: PhaseResult;
  flow: PhaseResult;
}

export interface EndpointFigures {
  requests: number;
  failures: number;
  requestsPerSecond: number;
  latencyMs: LatencySummary;
  /** workerd CPU (utime + stime) per request, median over rounds. */
  cpuMsPerRequest: number;
  cpuMsPerRequestByRound: number[];
}

/** A service figure divided by the baseline's same figure from the same run. */
export interface BaselineRatios {
  requestsPerSecond: number;
  latencyP50: number;
  latencyP95: number;
  latencyP99: number;
  cpuMsPerRequest: number;
}

export interface ServiceEndpointFigures extends EndpointFigures {
  /** cpuMsPerRequest minus the baseline's in the same round; median over rounds. */
  cpuMsPerRequestAboveBaseline: number;
  ratioToBaseline: BaselineRatios;
}

export interface FlowFigures {
  flows: number;
  failures: number;
  flowsPerSecond: number;
  /** Requests within flows (send-otp + verify-otp) per second. */
  requestsPerSecond: number;
  /** requestsPerSecond / the baseline's requests per second. */
  shareOfBaselineRequestsPerSecond: number;
  latencyMs: { sendOtp: LatencySummary; verifyOtp: LatencySummary; flow: LatencySummary };
  /** workerd CPU per flow minus two baseline requests' worth; median over rounds. */
  cpuMsPerFlowAboveBaseline: number;
}

export interface Target {
  name: string;
  /** e.g. "≤ 1 ms". */
  goal: string;
  value: number;
  unit: string;
  met: boolean;
}

export interface BenchResults {
  generatedAt: string;
  config: BenchConfig;
  machine: Record<string, string | number>;
  endpoints: { baseline: EndpointFigures; sendOtp: ServiceEndpointFigures; verifyOtp: ServiceEndpointFigures };
  flow: FlowFigures;
  bundle: BundleReport;
  storageRoundTrips: StorageRoundTrips;
  /** Storage calls per endpoint, every KV and Durable Object binding wrapped (bench/lib/worker-measurements.ts). */
  storageCalls: StorageCalls;
  /** Send and verify with edge delays on every call (bench/lib/worker-measurements.ts). */
  edgeLatency: EdgeLatency;
  /** The Worker isolate's CPU per request from its V8 profile, per signing key type (bench/lib/isolate-cpu.ts). */
  isolateCpu: IsolateCpu[];
  /** The bare baseline's POST /echo measured the same way: what a request costs the isolate under wrangler dev and the profiler. */
  isolateCpuBaseline: CpuSummary;
  /** Budget shards driven alone (bench/lib/budget-phase.ts): takes/s per object, CPU per take. */
  budgetShards: BudgetShardFigures[];
  targets: Target[];
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const cpuPerRequest = (p: PhaseResult, label: string) => p.cpuMs / Math.max(1, p.recorder.count(label));

function endpoint(phases: PhaseResult[], label: string): EndpointFigures {
  const requests = sum(phases.map((p) => p.recorder.count(label)));
  const byRound = phases.map((p) => round(cpuPerRequest(p, label), 3));
  return {
    requests,
    failures: sum(phases.map((p) => p.recorder.failed(label))),
    requestsPerSecond: round(requests / sum(phases.map((p) => p.seconds)), 1),
    latencyMs: summarizeLatencies(phases.flatMap((p) => p.recorder.latencies.get(label) ?? [])),
    cpuMsPerRequest: round(median(byRound), 3),
    cpuMsPerRequestByRound: byRound,
  };
}

function ratios(service: EndpointFigures, baseline: EndpointFigures): BaselineRatios {
  const ratio = (a: number, b: number) => round(a / b, 3);
  return {
    requestsPerSecond: ratio(service.requestsPerSecond, baseline.requestsPerSecond),
    latencyP50: ratio(service.latencyMs.p50, baseline.latencyMs.p50),
    latencyP95: ratio(service.latencyMs.p95, baseline.latencyMs.p95),
    latencyP99: ratio(service.latencyMs.p99, baseline.latencyMs.p99),
    cpuMsPerRequest: ratio(service.cpuMsPerRequest, baseline.cpuMsPerRequest),
  };
}

function serviceEndpoint(
  rounds: Round[],
  phase: "send" | "verify",
  label: string,
  baseline: EndpointFigures,
): ServiceEndpointFigures {
  const figures = endpoint(
    rounds.map((r) => r[phase]),
    label,
  );
  const above = rounds.map((r) => cpuPerRequest(r[phase], label) - cpuPerRequest(r.baseline, "echo"));
  return {
    ...figures,
    cpuMsPerRequestAboveBaseline: round(median(above), 3),
    ratioToBaseline: ratios(figures, baseline),
  };
}

function flow(rounds: Round[], baselineRps: number): FlowFigures {
  const phases = rounds.map((r) => r.flow);
  const seconds = sum(phases.map((p) => p.seconds));
  const count = (label: string) => sum(phases.map((p) => p.recorder.count(label)));
  const latencies = (label: string) => summarizeLatencies(phases.flatMap((p) => p.recorder.latencies.get(label) ?? []));
  const requestsPerSecond = (count("send-otp") + count("verify-otp")) / seconds;
  const above = rounds.map((r) => cpuPerRequest(r.flow, "flow") - 2 * cpuPerRequest(r.baseline, "echo"));
  return {
    flows: count("flow"),
    failures: sum(phases.map((p) => sum([...p.recorder.failures.values()]))),
    flowsPerSecond: round(count("flow") / seconds, 1),
    requestsPerSecond: round(requestsPerSecond, 1),
    shareOfBaselineRequestsPerSecond: round(requestsPerSecond / baselineRps, 3),
    latencyMs: { sendOtp: latencies("send-otp"), verifyOtp: latencies("verify-otp"), flow: latencies("flow") },
    cpuMsPerFlowAboveBaseline: round(median(above), 3),
  };
}

/** The service's performance targets (CPU, bundle size, throughput, round trips), as measured by this run. */
function targets(r: Omit<BenchResults, "targets">): Target[] {
  const send = r.endpoints.sendOtp.cpuMsPerRequestAboveBaseline;
  const verify = r.endpoints.verifyOtp.cpuMsPerRequestAboveBaseline;
  const kib = round(r.bundle.gzipBytes / 1024, 1);
  const share = round(r.flow.shareOfBaselineRequestsPerSecond * 100, 1);
  return [
    { name: "send-otp CPU above baseline (median)", goal: "≤ 1 ms", value: send, unit: "ms", met: send <= 1 },
    { name: "verify-otp CPU above baseline (median)", goal: "≤ 2 ms", value: verify, unit: "ms", met: verify <= 2 },
    { name: "bundle size (gzip)", goal: "≤ 150 KiB", value: kib, unit: "KiB", met: kib <= 150 },
    // Issue #23's goal (the earlier 40% was set before sessions, the gateways, the sharded budget and the stats).
    { name: "in-flow requests/s vs baseline", goal: "≥ 25%", value: share, unit: "%", met: share >= 25 },
    // Round trips a request waits for one after another (counted by instrumenting the bindings): each is a storage latency the person waits for.
    {
      name: "send-otp sequential storage round trips before the SMS",
      goal: "≤ 3",
      value: r.storageRoundTrips.sendOtpBeforeSms,
      unit: "",
      met: r.storageRoundTrips.sendOtpBeforeSms <= 3,
    },
    {
      name: "verify-otp sequential storage round trips",
      goal: "≤ 2",
      value: r.storageRoundTrips.verifyOtp,
      unit: "",
      met: r.storageRoundTrips.verifyOtp <= 2,
    },
    {
      name: "storage calls per sign-in, alone (send + verify, after-response work included)",
      goal: "≤ 7",
      value: r.storageCalls.lone.signIn,
      unit: "",
      met: r.storageCalls.lone.signIn <= 7,
    },
    {
      name: "storage calls per sign-in, 16 at once (stats batched)",
      goal: "≤ 7",
      value: round(r.storageCalls.concurrent16.signIn, 2),
      unit: "",
      met: r.storageCalls.concurrent16.signIn <= 7,
    },
    ...(["send", "verify", "refresh"] as const).map((e) => {
      const hs = r.isolateCpu.find((c) => c.keyType === "HS256");
      const value = hs ? hs.byEndpoint[e].p99 : Number.NaN;
      return {
        name: `isolate CPU p99, ${e}, HS256 + Firebase token`,
        goal: "≤ 5 ms",
        value,
        unit: "ms",
        met: value <= 5,
      };
    }),
  ];
}

export function buildResults(
  config: BenchConfig,
  machine: Record<string, string | number>,
  rounds: Round[],
  bundle: BundleReport,
  inWorkerd: WorkerMeasurements,
  budgetShards: BudgetShardFigures[],
  isolateCpu: { byKeyType: IsolateCpu[]; baseline: CpuSummary },
): BenchResults {
  const baseline = endpoint(
    rounds.map((r) => r.baseline),
    "echo",
  );
  const partial = {
    generatedAt: new Date().toISOString(),
    config,
    machine,
    endpoints: {
      baseline,
      sendOtp: serviceEndpoint(rounds, "send", "send-otp", baseline),
      verifyOtp: serviceEndpoint(rounds, "verify", "verify-otp", baseline),
    },
    flow: flow(rounds, baseline.requestsPerSecond),
    bundle,
    storageRoundTrips: inWorkerd.roundTrips,
    storageCalls: inWorkerd.storageCalls,
    edgeLatency: inWorkerd.edgeLatency,
    isolateCpu: isolateCpu.byKeyType,
    isolateCpuBaseline: isolateCpu.baseline,
    budgetShards,
  };
  return { ...partial, targets: targets(partial) };
}

/** Failures anywhere in the run: a benchmark of failing requests measures the wrong thing. */
export function totalFailures(r: BenchResults): number {
  return (
    r.endpoints.baseline.failures +
    r.endpoints.sendOtp.failures +
    r.endpoints.verifyOtp.failures +
    r.flow.failures +
    r.budgetShards.reduce((n, b) => n + b.failures, 0)
  );
}
