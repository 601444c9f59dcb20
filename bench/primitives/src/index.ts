import { DurableObject } from "cloudflare:workers";

interface Env {
  KV: KVNamespace;
  COUNTER: DurableObjectNamespace<Counter>;
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
const primitives: Record<string, (env: Env, phone: string) => Promise<unknown>> = {
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
    const { phone } = await request.json<{ phone: string }>();
    await primitive(env, phone);
    return Response.json({ message: "ok" });
  },
} satisfies ExportedHandler<Env>;
