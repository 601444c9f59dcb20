import { spawnSync } from "node:child_process";
import { REPO_ROOT } from "../../scripts/lib/wrangler-dev.ts";

/** Sequential storage round trips a request waits for, per endpoint (the targets: at most 3 before the SMS, and 2 for a verify). */
export interface StorageRoundTrips {
  sendOtpBeforeSms: number;
  verifyOtp: number;
  /** How they were counted. */
  method: string;
}

const TEST = "test/worker/protocol.test.ts";
const LINE = /storage round trips: (\{[^}]*\})/;

/**
 * Counted, not assumed: runs the test that instruments the KV and Durable
 * Object bindings (test/helpers/round-trips.ts) around one /send-otp and one
 * /verify-otp inside workerd, and reads the figures it prints.
 */
export function measureStorageRoundTrips(): StorageRoundTrips {
  // --silent=false: the figures are a passing test's console line, which vitest.config.ts keeps quiet otherwise.
  const args = ["vitest", "run", "--project", "worker", TEST, "-t", "sequential storage round trips", "--silent=false"];
  const run = spawnSync("npx", args, {
    cwd: REPO_ROOT,
    encoding: "utf8",
    env: { ...process.env, FORCE_COLOR: "0" },
  });
  const match = LINE.exec(`${run.stdout}\n${run.stderr}`);
  if (run.status !== 0 || !match) {
    throw new Error(`counting storage round trips failed (vitest exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
  }
  const figures = JSON.parse(match[1]!) as { send_otp: number; verify_otp: number };
  return {
    sendOtpBeforeSms: figures.send_otp,
    verifyOtp: figures.verify_otp,
    method: `bindings instrumented in workerd (${TEST})`,
  };
}
