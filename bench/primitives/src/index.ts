import { DurableObject } from "cloudflare:workers";

interface Env {
  KV: KVNamespace;
  COUNTER: DurableObjectNamespace<Counter>;
  /** The fake Fast2SMS's base URL (loopback). */
  FAST2SMS_BASE_URL: string;
}

/** A SQLite-backed Durable Object that writes one row per call, as the service's limiters do. */
export class Counter extends DurableObject<Env> {
  async hit(): Promise<number> {
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS hits (at INTEGER NOT NULL)");
    sql.exec("INSERT INTO hits (at) VALUES (?)", Date.now());
    return sql.exec<{ n: number }>("SELECT count(*) AS n FROM hits").one().n;
  }
}

/**
 * Each route reads the same JSON body as the service's (`{ phone }`), does one
 * primitive, and answers a small JSON. POST /echo does nothing else: the
 * profile subtracts its cost from the others'.
 */
const primitives: Record<string, (env: Env, phone: string) => Promise<unknown>> = {
  "/echo": async () => undefined,
  "/log": async (_env, phone) => console.log(JSON.stringify({ event: "request", path: "/log", status: 200, phone })),
  "/kv-put": (env, phone) => env.KV.put(`code:${phone}`, "0123456789abcdef0123456789abcdef", { expirationTtl: 300 }),
  "/kv-get": (env, phone) => env.KV.get(`code:${phone}`),
  "/do-new": (env, phone) => env.COUNTER.getByName(phone).hit(),
  "/do-existing": (env) => env.COUNTER.getByName("shared").hit(),
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
