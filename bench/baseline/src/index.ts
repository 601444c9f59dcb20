import { Hono } from "hono";

/**
 * The baseline Worker: Hono routing, a JSON body read and a JSON answer, and
 * nothing else (no settings, storage, crypto or outbound request). The
 * benchmark posts it the same body as /send-otp.
 */
const app = new Hono();

app.get("/health", (c) => c.json({ status: "ok" }));
app.post("/echo", async (c) => {
  const body = await c.req.json<Record<string, unknown>>();
  return c.json({ message: "ok", received: body }, 200);
});

export default app;
