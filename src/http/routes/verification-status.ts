import { Hono } from "hono";
import { verificationStatus } from "../../domain/otp/code-delivery";
import { normalizePhone } from "../../kernel/phone/normalize-phone";
import type { AppEnv } from "../core/app-env";
import { validateJson } from "../core/validate-json";
import { deliveryDeps } from "../deps/delivery-deps";
import { jsonBody, MAX_JSON_BODY_BYTES } from "../middleware/json-body";
import { settingsAndKeys } from "../middleware/settings-and-keys";
import { type VerificationStatusResponse, verificationStatusBody } from "../schemas/api-schemas";

/**
 * POST /verification-status {"phone","verification_id"}: whether the code's
 * SMS or call reached the phone (pending, delivered, failed), for an app
 * that waits for the code. Validated like /verify-otp, and the same 404
 * otp_not_found for every id that names no live code of this number. No
 * per-client allowance: an id without this number's tag is refused before
 * any storage call, so made-up ids cost nothing, and a real id is held by
 * the client that asked for the code; the answer is one read that counts nothing.
 */
export const verificationStatusRoute = new Hono<AppEnv>().post(
  "/verification-status",
  settingsAndKeys(),
  jsonBody(MAX_JSON_BODY_BYTES),
  validateJson(verificationStatusBody),
  async (c) => {
    const settings = c.get("settings");
    const body = c.req.valid("json");
    const phone = normalizePhone(body.phone, settings.allowedCountries);
    c.set("phone", phone.e164);
    const status = await verificationStatus(deliveryDeps(c), phone, body.verification_id);
    c.header("cache-control", "no-store");
    return c.json(status satisfies VerificationStatusResponse, 200);
  },
);
