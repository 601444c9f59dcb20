import { spawnSync } from "node:child_process";
import { REPO_ROOT } from "../../scripts/lib/wrangler-dev.ts";
import type { StorageRoundTrips } from "./round-trips.ts";

/**
 * Storage calls per endpoint, counted by wrapping every KV and Durable Object
 * binding (test/worker/storage-calls.test.ts), work after the response included.
 */
export interface StorageCalls {
  /** One sign-in alone in its isolate (the operator's stats batch holds only its own events). */
  lone: { sendOtp: number; verifyOtp: number; refresh: number; signIn: number; calls: Record<string, string[]> };
  /** 16 sign-ins at once in one isolate, per sign-in (their stats batched together). */
  concurrent16: { sendOtp: number; verifyOtp: number; refresh: number; stats: number; signIn: number };
  method: string;
}

/** Send and verify latency with every binding and the gateway delayed by edge figures (test/worker/edge-latency.test.ts). */
export interface EdgeLatency {
  delaysMs: Record<string, number>;
  signIns: number;
  sendOtp: { p50: number; p95: number };
  verifyOtp: { p50: number; p95: number };
  localWithoutDelays: { sendOtp: { p50: number; p95: number }; verifyOtp: { p50: number; p95: number } };
  method: string;
}

export interface WorkerMeasurements {
  roundTrips: StorageRoundTrips;
  storageCalls: StorageCalls;
  edgeLatency: EdgeLatency;
}

const FILES = ["test/worker/protocol.test.ts", "test/worker/storage-calls.test.ts", "test/worker/edge-latency.test.ts"];
const TESTS = "sequential storage round trips|counts one lone sign-in|per-call delays";

/**
 * Runs, inside workerd (vitest's worker project), the three tests that
 * instrument the bindings, and reads the figures each prints: the sequential
 * round trips, the storage calls per endpoint and the edge-latency simulation.
 */
export function measureInWorkerd(): WorkerMeasurements {
  // --silent=false: the figures are passing tests' console lines, which vitest.config.ts keeps quiet otherwise.
  const args = ["vitest", "run", "--project", "worker", ...FILES, "-t", TESTS, "--silent=false"];
  const run = spawnSync("npx", args, { cwd: REPO_ROOT, encoding: "utf8", env: { ...process.env, FORCE_COLOR: "0" } });
  const out = `${run.stdout}\n${run.stderr}`;
  const line = (prefix: string) => {
    const match = new RegExp(`${prefix}: (\\{.*\\})\\s*$`, "m").exec(out);
    if (run.status !== 0 || !match) {
      throw new Error(`measuring in workerd failed (vitest exit ${run.status}, no "${prefix}" line):\n${out}`);
    }
    return JSON.parse(match[1]!) as unknown;
  };
  const trips = line("storage round trips") as { send_otp: number; verify_otp: number };
  const calls = line("storage calls") as {
    lone: { send_otp: number; verify_otp: number; refresh: number; sign_in: number; calls: Record<string, string[]> };
    concurrent16: { send_otp: number; verify_otp: number; refresh: number; stats: number; sign_in: number };
  };
  type Pair = { p50: number; p95: number };
  const edge = line("edge latency") as {
    delays: Record<string, number>;
    sign_ins: number;
    send_otp: Pair;
    verify_otp: Pair;
    local_without_delays: { send_otp: Pair; verify_otp: Pair };
  };
  return {
    roundTrips: {
      sendOtpBeforeSms: trips.send_otp,
      verifyOtp: trips.verify_otp,
      method: `bindings instrumented in workerd (${FILES[0]})`,
    },
    storageCalls: {
      lone: {
        sendOtp: calls.lone.send_otp,
        verifyOtp: calls.lone.verify_otp,
        refresh: calls.lone.refresh,
        signIn: calls.lone.sign_in,
        calls: calls.lone.calls,
      },
      concurrent16: {
        sendOtp: calls.concurrent16.send_otp,
        verifyOtp: calls.concurrent16.verify_otp,
        refresh: calls.concurrent16.refresh,
        stats: calls.concurrent16.stats,
        signIn: calls.concurrent16.sign_in,
      },
      method: `every KV and Durable Object binding wrapped in workerd, work after the response included (${FILES[1]})`,
    },
    edgeLatency: {
      delaysMs: edge.delays,
      signIns: edge.sign_ins,
      sendOtp: edge.send_otp,
      verifyOtp: edge.verify_otp,
      localWithoutDelays: {
        sendOtp: edge.local_without_delays.send_otp,
        verifyOtp: edge.local_without_delays.verify_otp,
      },
      method: `every binding and the gateway delayed in workerd, one sign-in at a time (${FILES[2]})`,
    },
  };
}
