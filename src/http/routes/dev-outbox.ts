import { Hono } from "hono";
import { NotFoundError } from "../../kernel/errors/service-error";
import { normalizePhone } from "../../kernel/phone/normalize-phone";
import { readOutbox } from "../../platform/sms/outbox-store";
import type { AppEnv } from "../core/app-env";
import { settingsAndKeys } from "../middleware/settings-and-keys";
import type { OutboxResponse } from "../schemas/api-schemas";

/**
 * GET /dev/outbox[?phone=…]: the console gateway's recent messages, newest
 * first. Exists only while SMS_PROVIDER is console; a 404 otherwise.
 */
export const devOutboxRoute = new Hono<AppEnv>().get("/dev/outbox", settingsAndKeys(), (c) => {
  const settings = c.get("settings");
  if (settings.smsGateway !== "console") throw new NotFoundError("There is nothing at this address.");
  const filter = c.req.query("phone");
  const to = filter === undefined ? undefined : normalizePhone(filter, settings.allowedCountries).e164;
  c.header("cache-control", "no-store");
  return c.json({ messages: readOutbox(to) } satisfies OutboxResponse, 200);
});
