import type { DevServer } from "../../scripts/lib/wrangler-dev.ts";
import type { LoopbackClient } from "./http-client.ts";
import { measurePhase } from "./phases.ts";
import type { LoadBounds } from "./virtual-users.ts";

/** Budget shards driven alone (bench/primitives: POST /budget-take), for the capacity model's inputs. */
export interface BudgetShardFigures {
  /** Takes spread at random over this many shards (1: every take to one object). */
  shards: number;
  takes: number;
  failures: number;
  takesPerSecond: number;
  /** takesPerSecond / shards: what each object served. */
  takesPerSecondPerShard: number;
  /** workerd CPU (Worker and objects, one process locally) per take. */
  cpuMsPerTake: number;
  /** The same, less a bare POST /echo to the same Worker: the take's own CPU (RPC and SQLite). */
  cpuMsPerTakeAboveEcho: number;
}

/**
 * Many concurrent takes against the service's BudgetShard class, first all
 * on one object (one object's ceiling here), then at random over `shards`
 * objects. Locally every object runs in the one workerd process, so more
 * shards cannot add CPU here: the per-object figure with one shard is the
 * input the capacity model uses, the spread figure shows the shards cost
 * nothing extra.
 */
export async function budgetShardPhases(
  server: DevServer,
  client: LoopbackClient,
  bounds: LoadBounds,
  shardCounts: readonly number[],
): Promise<BudgetShardFigures[]> {
  const echo = await measurePhase(server, bounds, "echo", async (rec) => {
    rec.check("echo", await client.post(`${server.url}/echo`, { phone: "+910000000000" }));
    return true;
  });
  const echoCpu = echo.cpuMs / Math.max(1, echo.recorder.count("echo"));
  const out: BudgetShardFigures[] = [];
  for (const shards of shardCounts) {
    const phase = await measurePhase(server, bounds, "budget-take", async (rec) => {
      const shard = Math.floor(Math.random() * shards);
      rec.check("budget-take", await client.post(`${server.url}/budget-take`, { phone: "+910000000000", shard }));
      return true;
    });
    const takes = phase.recorder.count("budget-take");
    const takesPerSecond = takes / phase.seconds;
    const cpuMsPerTake = phase.cpuMs / Math.max(1, takes);
    out.push({
      shards,
      takes,
      failures: phase.recorder.failed("budget-take"),
      takesPerSecond,
      takesPerSecondPerShard: takesPerSecond / shards,
      cpuMsPerTake,
      cpuMsPerTakeAboveEcho: cpuMsPerTake - echoCpu,
    });
  }
  return out;
}
