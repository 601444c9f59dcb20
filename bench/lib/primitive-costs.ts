import type { DevServer } from "../../scripts/lib/wrangler-dev.ts";
import type { LoopbackClient } from "./http-client.ts";
import { measurePhase } from "./phases.ts";
import type { BenchPhone } from "./phones.ts";
import type { LoadBounds } from "./virtual-users.ts";

/** The routes of bench/primitives/: one runtime primitive each, and what it stands for in the service. */
export const PRIMITIVES = {
  "/log": "one console.log line (the request log)",
  "/kv-put": "KV put with a TTL (a code's hash; also a delete)",
  "/kv-get": "KV get",
  "/do-new": "Durable Object call, new object, one SQLite write",
  "/do-existing": "Durable Object call, existing object, one SQLite write",
  "/fetch": "outbound fetch to the fake Fast2SMS",
} as const;

export type Primitive = keyof typeof PRIMITIVES;

/**
 * The primitives each service request makes, read from src/otp/otp-service.ts:
 * /send-otp reserves a send in the number's new PhoneLimiter, takes the client
 * quota and the day's SMS budget (two QuotaCounter objects that already exist),
 * puts the code's hash in KV, texts the code and logs one line; /verify-otp
 * asks the number's limiter for the pending code, reads the hash from KV,
 * records the attempt in the limiter, deletes the hash (after the answer) and
 * logs one line.
 */
export const RECIPES: Record<"send-otp" | "verify-otp", Partial<Record<Primitive, number>>> = {
  "send-otp": { "/do-new": 1, "/do-existing": 2, "/kv-put": 1, "/fetch": 1, "/log": 1 },
  "verify-otp": { "/do-existing": 2, "/kv-get": 1, "/kv-put": 1, "/log": 1 },
};

/**
 * One round: POST /echo, then each primitive, against the primitives Worker.
 * Returns /echo's workerd CPU per request, and each primitive's above it.
 */
export async function primitiveRound(
  server: DevServer,
  client: LoopbackClient,
  phones: Iterator<BenchPhone>,
  bounds: LoadBounds,
): Promise<{ echoMs: number; aboveEchoMs: Record<Primitive, number> }> {
  const run = async (path: string) => {
    const phase = await measurePhase(server, bounds, path, async (rec) => {
      const phone = phones.next().value as BenchPhone;
      rec.check(path, await client.post(`${server.url}${path}`, { phone: phone.e164 }));
      return true;
    });
    if (phase.recorder.failureSamples.length > 0) throw new Error(phase.recorder.failureSamples[0]);
    return phase.cpuMs / Math.max(1, phase.recorder.count(path));
  };
  const echoMs = await run("/echo");
  const aboveEchoMs = {} as Record<Primitive, number>;
  for (const path of Object.keys(PRIMITIVES) as Primitive[]) aboveEchoMs[path] = (await run(path)) - echoMs;
  return { echoMs, aboveEchoMs };
}

/** What a recipe's primitives add up to, in ms of workerd CPU above a bare JSON answer. */
export function recipeCost(recipe: Partial<Record<Primitive, number>>, costs: Record<Primitive, number>): number {
  return Object.entries(recipe).reduce((sum, [path, times]) => sum + costs[path as Primitive] * times, 0);
}
