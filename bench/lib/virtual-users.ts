import type { JsonReply } from "./http-client.ts";

/** How much load one phase may put on a server: a fixed number of users, a time limit and a request cap. */
export interface LoadBounds {
  /** Concurrent virtual users, each running one iteration at a time. */
  users: number;
  /** Stop starting iterations after this long. */
  seconds: number;
  /** Stop starting iterations after this many, whatever the time. */
  maxIterations: number;
}

/** Latencies of successful requests per label, and failures (wrong status or no answer) per label. */
export class Recorder {
  readonly latencies = new Map<string, number[]>();
  readonly failures = new Map<string, number>();
  /** The first few failures, described, for the report. */
  readonly failureSamples: string[] = [];

  /** Records `reply` under `label`; true when its status is `expected`. */
  check(label: string, reply: JsonReply, expected = 200): boolean {
    if (reply.status !== expected) {
      this.fail(label, `${label}: HTTP ${reply.status} ${JSON.stringify(reply.body).slice(0, 200)}`);
      return false;
    }
    this.add(label, reply.ms);
    return true;
  }

  add(label: string, ms: number): void {
    const list = this.latencies.get(label);
    if (list) list.push(ms);
    else this.latencies.set(label, [ms]);
  }

  fail(label: string, description: string): void {
    this.failures.set(label, (this.failures.get(label) ?? 0) + 1);
    if (this.failureSamples.length < 5) this.failureSamples.push(description);
  }

  count(label: string): number {
    return this.latencies.get(label)?.length ?? 0;
  }

  failed(label: string): number {
    return this.failures.get(label) ?? 0;
  }
}

/**
 * Runs `bounds.users` virtual users in parallel; each repeats `iteration`
 * (one request or one whole flow) until the time or the iteration cap is
 * reached, or `iteration` answers false (no work left). An iteration that
 * throws (no HTTP answer at all) is recorded as a failure of `label` and the
 * user goes on. Resolves with the wall time from the first start to the last
 * finish.
 */
export async function runVirtualUsers(
  bounds: LoadBounds,
  recorder: Recorder,
  label: string,
  iteration: (user: number) => Promise<boolean>,
): Promise<{ seconds: number; iterations: number }> {
  const started = performance.now();
  const deadline = started + bounds.seconds * 1000;
  let iterations = 0;
  const user = async (id: number) => {
    while (performance.now() < deadline && iterations < bounds.maxIterations) {
      iterations += 1;
      try {
        if (!(await iteration(id))) return;
      } catch (err) {
        recorder.fail(label, `${label}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: bounds.users }, (_, id) => user(id)));
  return { seconds: (performance.now() - started) / 1000, iterations };
}
