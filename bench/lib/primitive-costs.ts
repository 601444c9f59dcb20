import type { DevServer } from "../../scripts/lib/wrangler-dev.ts";
import type { LoopbackClient } from "./http-client.ts";
import { measurePhase } from "./phases.ts";
import type { BenchPhone } from "./phones.ts";
import type { LoadBounds } from "./virtual-users.ts";

/**
 * The routes of bench/primitives/, in the order a round runs them: what each
 * stands for, and for the per-number ones that read what an earlier route
 * wrote, which route's numbers they replay (so a KV get finds its key and a
 * Durable Object already exists, as in /verify-otp).
 */
export const PRIMITIVES = {
  "/log": { what: "one console.log line (the request log)" },
  "/kv-put": { what: "KV put with a TTL (a code's hash)" },
  "/kv-get": { what: "KV get of an existing key", replays: "/kv-put" },
  "/kv-delete": { what: "KV delete of an existing key", replays: "/kv-put" },
  "/do-write": { what: "Durable Object call, new object per number: one write and an alarm" },
  "/do-read": { what: "Durable Object call, existing object: one read", replays: "/do-write" },
  "/do-shared": { what: "Durable Object call, one object for all: one write and an alarm" },
  "/fetch": { what: "outbound fetch to the fake Fast2SMS" },
} as const satisfies Record<string, { what: string; replays?: string }>;

export type Primitive = keyof typeof PRIMITIVES;

/**
 * The primitives each service request makes, read from src/domain/otp/otp-service.ts.
 * /send-otp: reserve a send in the number's new PhoneLimiter, take the client
 * quota and the day's SMS budget (two QuotaCounter objects shared by every
 * request), put the code's hash in KV, text the code, log one line.
 * /verify-otp: ask the number's limiter for the pending code (a read), read
 * the hash from KV, record the attempt in the limiter (a write), delete the
 * hash (after the answer), log one line. "/do-write" stands for both writes to
 * the number's limiter: its first write creates the object, and creation is
 * where new and existing objects differ.
 */
export const RECIPES: Record<"send-otp" | "verify-otp", Partial<Record<Primitive, number>>> = {
  "send-otp": { "/do-write": 1, "/do-shared": 2, "/kv-put": 1, "/fetch": 1, "/log": 1 },
  "verify-otp": { "/do-read": 1, "/do-write": 1, "/kv-get": 1, "/kv-delete": 1, "/log": 1 },
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
  const used = new Map<string, BenchPhone[]>();
  const run = async (path: string, replays?: string) => {
    const queue = replays ? [...(used.get(replays) ?? [])] : undefined;
    const mine: BenchPhone[] = [];
    used.set(path, mine);
    const phase = await measurePhase(server, bounds, path, async (rec) => {
      const phone = queue ? queue.shift() : (phones.next().value as BenchPhone);
      if (!phone) return false;
      mine.push(phone);
      rec.check(path, await client.post(`${server.url}${path}`, { phone: phone.e164 }));
      return true;
    });
    if (phase.recorder.failureSamples.length > 0) throw new Error(phase.recorder.failureSamples[0]);
    return phase.cpuMs / Math.max(1, phase.recorder.count(path));
  };
  const echoMs = await run("/echo");
  const aboveEchoMs = {} as Record<Primitive, number>;
  for (const [path, spec] of Object.entries(PRIMITIVES) as Array<[Primitive, { replays?: Primitive }]>) {
    aboveEchoMs[path] = (await run(path, spec.replays)) - echoMs;
  }
  return { echoMs, aboveEchoMs };
}

/** What a recipe's primitives add up to, in ms of workerd CPU above a bare JSON answer. */
export function recipeCost(recipe: Partial<Record<Primitive, number>>, costs: Record<Primitive, number>): number {
  return Object.entries(recipe).reduce((sum, [path, times]) => sum + costs[path as Primitive] * times, 0);
}
