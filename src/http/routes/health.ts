import { Hono } from "hono";
import type { AppEnv } from "../app-env";

/** GET /health: liveness only; it reads no settings and no storage. */
export const healthRoute = new Hono<AppEnv>().get("/health", (c) => c.json({ status: "ok" as const }, 200));
