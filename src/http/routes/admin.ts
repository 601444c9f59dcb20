import { type Context, Hono } from "hono";
import {
  dayStats,
  endNumberSessions,
  inspectNumber,
  liftRangeBlock,
  listBlocks,
  unlockNumber,
} from "../../domain/admin/admin-service";
import { isRange } from "../../domain/guards/range-guard";
import { utcDay } from "../../domain/stats/otp-events";
import { InvalidRequestError } from "../../kernel/errors/service-error";
import { type AdminLogFields, log } from "../../kernel/log/log";
import { type NormalizedPhone, normalizePhone } from "../../kernel/phone/normalize-phone";
import type { AppEnv, ConfiguredEnv } from "../core/app-env";
import { adminDeps } from "../deps/admin-deps";
import { adminAuth } from "../middleware/admin-auth";
import { settingsAndKeys } from "../middleware/settings-and-keys";
import type { AdminBlocksResponse, AdminNumberResponse, AdminStatsResponse } from "../schemas/admin-schemas";

/** What every admin line (`admin.*`) carries: the request and its number (masked by log), never the token. */
function adminFields(c: Context<ConfiguredEnv>): AdminLogFields {
  return { request_id: c.get("requestId"), phone: c.get("phone") || undefined };
}

/** The path's number, in any accepted form; set for the request log (masked there). */
function pathPhone(c: Context<ConfiguredEnv>): NormalizedPhone {
  const phone = normalizePhone(c.req.param("phone") ?? "", c.get("settings").allowedCountries);
  c.set("phone", phone.e164);
  return phone;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The operator's API (README, "Operating it"), behind ADMIN_TOKEN
 * (admin-auth.ts): a number's state, unlock, end its sessions, the day's
 * figures, the fraud guard's blocked number ranges and lifting one. Answers
 * are never cached.
 */
export const adminRoute = new Hono<AppEnv>()
  .get("/admin/numbers/:phone", settingsAndKeys(), adminAuth(), async (c) => {
    const phone = pathPhone(c);
    const view = await inspectNumber(adminDeps(c), phone);
    log("admin.lookup", adminFields(c));
    c.header("cache-control", "no-store");
    return c.json(view satisfies AdminNumberResponse, 200);
  })
  .post("/admin/numbers/:phone/unlock", settingsAndKeys(), adminAuth(), async (c) => {
    const phone = pathPhone(c);
    await unlockNumber(adminDeps(c), phone);
    log("admin.unlock", adminFields(c));
    return c.body(null, 204);
  })
  .delete("/admin/numbers/:phone/sessions", settingsAndKeys(), adminAuth(), async (c) => {
    const phone = pathPhone(c);
    const ended = await endNumberSessions(adminDeps(c), phone);
    log("admin.revoke_sessions", { ...adminFields(c), ended });
    return c.body(null, 204);
  })
  .get("/admin/stats", settingsAndKeys(), adminAuth(), async (c) => {
    const day = c.req.query("day") ?? utcDay(Date.now());
    if (
      !DAY.test(day) ||
      Number.isNaN(Date.parse(`${day}T00:00:00Z`)) ||
      utcDay(Date.parse(`${day}T00:00:00Z`)) !== day
    ) {
      throw new InvalidRequestError("day must be a date as YYYY-MM-DD (UTC).");
    }
    const stats = await dayStats(adminDeps(c), day);
    log("admin.stats", { ...adminFields(c), day });
    c.header("cache-control", "no-store");
    return c.json(stats satisfies AdminStatsResponse, 200);
  })
  .get("/admin/blocks", settingsAndKeys(), adminAuth(), async (c) => {
    const blocks = await listBlocks(adminDeps(c));
    log("admin.blocks", { ...adminFields(c), blocks: blocks.length });
    c.header("cache-control", "no-store");
    return c.json({ blocks } satisfies AdminBlocksResponse, 200);
  })
  .delete("/admin/blocks/:range", settingsAndKeys(), adminAuth(), async (c) => {
    const range = c.req.param("range");
    if (!isRange(range)) {
      throw new InvalidRequestError(
        "range must be a number range: + and the number's first digits, as /admin/blocks lists it.",
      );
    }
    const lifted = await liftRangeBlock(adminDeps(c), range);
    log("admin.lift_block", { ...adminFields(c), range, lifted });
    return c.body(null, 204);
  });
