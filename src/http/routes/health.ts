import { Hono } from "hono";
import { loadSettings } from "../../kernel/config/settings";
import type { AppEnv } from "../core/app-env";
import type { HealthResponse } from "../schemas/api-schemas";

/**
 * GET /health: liveness, plus whether the settings are valid. Reads no storage.
 * Test numbers appear only as a count, never the numbers or their codes.
 */
export const healthRoute = new Hono<AppEnv>().get("/health", (c) => {
  let config: HealthResponse["config"];
  try {
    config = { valid: true, test_numbers: loadSettings(c.env).testNumbers.size };
  } catch {
    config = { valid: false };
  }
  return c.json({ status: "ok", config } satisfies HealthResponse, 200);
});
