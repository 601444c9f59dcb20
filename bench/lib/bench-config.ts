/**
 * How hard and how long the benchmark pushes. The full run takes about a
 * minute of load on a 2-core machine; the smoke run (CI) a few seconds.
 * Every phase is bounded both in time and in requests.
 */
export interface BenchConfig {
  mode: "full" | "smoke";
  /** Concurrent virtual users in every phase. */
  users: number;
  /** Rounds of (baseline, send, verify, flow); CPU figures are the median over rounds. */
  rounds: number;
  /** Time limit of each phase. */
  phaseSeconds: number;
  /** Request (or flow) cap of each phase. */
  maxIterationsPerPhase: number;
  /** Unmeasured load on both Workers first, so JIT and connections are warm. */
  warmupSeconds: number;
  /** Sign-ins (send, verify, refresh) per signing key type in the isolate-CPU phase. */
  cpuFlows: number;
}

export const FULL: BenchConfig = {
  mode: "full",
  users: 16,
  rounds: 5,
  phaseSeconds: 3,
  maxIterationsPerPhase: 20_000,
  warmupSeconds: 2,
  cpuFlows: 200,
};

export const SMOKE: BenchConfig = {
  mode: "smoke",
  users: 2,
  rounds: 1,
  phaseSeconds: 0.5,
  maxIterationsPerPhase: 40,
  warmupSeconds: 0.2,
  cpuFlows: 5,
};
