import { DurableObject } from "cloudflare:workers";
import { type BudgetShard, budgetShardFor } from "../../../src/platform/limiter/budget-shard";

/** The service's class itself, so the budget phase measures the code that runs in production. */
export { BudgetShard } from "../../../src/platform/limiter/budget-shard";

interface Env {
  KV: KVNamespace;
  COUNTER: DurableObjectNamespace<Counter>;
  BUDGET_SHARD: DurableObjectNamespace<BudgetShard>;
  /** The fake Fast2SMS's base URL (loopback). */
  FAST2SMS_BASE_URL: string;
}

const HOUR_MS = 3_600_000;

/** A SQLite-backed Durable Object that reads or writes one small record, as the service's limiters do. */
export class Counter extends DurableObject<Env> {
  /** One write and an alarm, as PhoneLimiter and QuotaCounter do on every change. */
  async hit(): Promise<number> {
    const n = (this.ctx.storage.kv.get<number>("hits") ?? 0) + 1;
    this.ctx.storage.kv.put("hits", n);
    await this.ctx.storage.setAlarm(Date.now() + HOUR_MS);
    return n;
  }

  /** One read, as PhoneLimiter.pendingCode does. */
  async peek(): Promise<number> {
    return this.ctx.storage.kv.get<number>("hits") ?? 0;
  }

  override async alarm(): Promise<void> {
    this.ctx.storage.kv.delete("hits");
  }
}

/**
 * Each route reads the same JSON body as the service's (`{ phone }`), does one
 * runtime primitive, and answers a small JSON. POST /echo does nothing else:
 * the profile subtracts its cost from the others'. The per-number routes
 * (KV keys, Durable Objects named by the number) are replayed by the profile
 * with numbers an earlier route used, so that reads find what was written.
 */
const primitives: Record<string, (env: Env, phone: string, shard?: number) => Promise<unknown>> = {
  /** One take from budget shard `shard` (a fresh ticket, a cap never reached), as a send's budget take. */
  "/budget-take": async (env, _phone, shard = 0) => {
    const result = await budgetShardFor(env.BUDGET_SHARD, `bench-budget:${shard}`).take(
      crypto.randomUUID(),
      1,
      1_000_000_000,
      Date.now() + 2 * 86_400_000,
    );
    if (result.outcome !== "taken") throw new Error("budget shard refused");
  },
  "/echo": async () => undefined,
  "/log": async (_env, phone) => console.log(JSON.stringify({ event: "request", path: "/log", status: 200, phone })),
  "/kv-put": (env, phone) =>
    env.KV.put(`code:${phone}`, JSON.stringify({ v: 1, hash: "0123456789abcdef0123456789abcdef" }), {
      expirationTtl: 300,
    }),
  "/kv-get": (env, phone) => env.KV.get(`code:${phone}`, "json"),
  "/kv-delete": (env, phone) => env.KV.delete(`code:${phone}`),
  "/do-write": (env, phone) => env.COUNTER.getByName(phone).hit(),
  "/do-read": (env, phone) => env.COUNTER.getByName(phone).peek(),
  "/do-shared": (env) => env.COUNTER.getByName("shared").hit(),
  "/fetch": async (env, phone) => {
    const res = await fetch(`${env.FAST2SMS_BASE_URL}/dev/bulkV2`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ route: "otp", variables_values: "123456", numbers: phone.slice(3) }),
    });
    return res.text();
  },
};

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (request.method === "GET" && pathname === "/health") return Response.json({ status: "ok" });
    const primitive = primitives[pathname];
    if (request.method !== "POST" || !primitive) return Response.json({ error: "not found" }, { status: 404 });
    const { phone, shard } = await request.json<{ phone: string; shard?: number }>();
    await primitive(env, phone, shard);
    return Response.json({ message: "ok" });
  },
} satisfies ExportedHandler<Env>;
