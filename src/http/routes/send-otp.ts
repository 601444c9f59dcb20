import { Hono } from "hono";
import { sendOtp } from "../../domain/otp/otp-service";
import { normalizePhone } from "../../kernel/phone/normalize-phone";
import type { AppEnv } from "../core/app-env";
import { requestClient } from "../core/client-network";
import { validateJson } from "../core/validate-json";
import { otpDeps } from "../deps/otp-deps";
import { jsonBody, MAX_JSON_BODY_BYTES } from "../middleware/json-body";
import { settingsAndKeys } from "../middleware/settings-and-keys";
import { type SendOtpResponse, sendOtpBody } from "../schemas/api-schemas";

/** POST /send-otp {"phone"}: text a new code to the number; the answer names it by `verification_id`. */
export const sendOtpRoute = new Hono<AppEnv>().post(
  "/send-otp",
  settingsAndKeys(),
  jsonBody(MAX_JSON_BODY_BYTES),
  validateJson(sendOtpBody),
  async (c) => {
    const settings = c.get("settings");
    const body = c.req.valid("json");
    const phone = normalizePhone(body.phone, settings.allowedCountries);
    c.set("phone", phone.e164);
    // An app's backend may name its user's address (docs/scale.md, "Calling /send-otp from your backend").
    const client = await requestClient(c);
    const deps = otpDeps(c);
    const sending = sendOtp(deps, phone, {
      clientAddress: client.address,
      asn: client.asn,
      turnstileToken: body.turnstile_token,
      channel: body.channel,
    });
    // Workers cancel a request's work when its client disconnects, but not its waitUntil: a send cut off
    // after it took its holds would never give them back (a range entry would settle and count towards a
    // block with no SMS sent), so the send runs to its end whatever the client does (docs/fraud.md).
    deps.background(sending.catch(() => undefined));
    const sent = await sending;
    c.header("cache-control", "no-store");
    return c.json(
      {
        message: "OTP sent successfully",
        phone: phone.e164,
        verification_id: sent.verificationId,
        expires_in: sent.expiresIn,
        resend_after: sent.resendAfter,
        channel: sent.channel,
      } satisfies SendOtpResponse,
      200,
    );
  },
);
