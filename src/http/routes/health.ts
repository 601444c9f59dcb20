import { Hono } from "hono";
import { loadSettings } from "../../config/settings";
import type { AppEnv } from "../app-env";

/**
 * GET /health: liveness, plus whether the settings are valid. Reads no storage.
 * Test numbers appear only as a count, never the numbers or their codes.
 */
export const healthRoute = new Hono<AppEnv>().get("/health", (c) => {
  let config: { valid: true; test_numbers: number } | { valid: false };
  try {
    config = { valid: true, test_numbers: loadSettings(c.env).testNumbers.size };
  } catch {
    config = { valid: false };
  }
  return c.json({ status: "ok" as const, config }, 200);
});
