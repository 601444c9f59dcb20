import { Hono } from "hono";
import { verifyOtp } from "../../otp/otp-service";
import { normalizePhone } from "../../phone/normalize-phone";
import { signAccessToken } from "../../token/sign-access-token";
import type { AppEnv } from "../app-env";
import { jsonBody } from "../middleware/json-body";
import { otpDeps } from "../otp-deps";
import { verifyOtpBody } from "../schemas";
import { validateJson } from "../validate-json";
import { MAX_BODY_BYTES } from "./send-otp";

/** POST /verify-otp {"phone","otp"}: check the code; on success, answer with a signed access token. */
export const verifyOtpRoute = new Hono<AppEnv>().post(
  "/verify-otp",
  jsonBody(MAX_BODY_BYTES),
  validateJson(verifyOtpBody),
  async (c) => {
    const settings = c.get("settings");
    const body = c.req.valid("json");
    const phone = normalizePhone(body.phone, settings.allowedCountries);
    c.set("phone", phone.e164);
    await verifyOtp(otpDeps(c), phone, body.otp);
    const access = await signAccessToken(settings.jwt, phone.e164);
    c.header("cache-control", "no-store");
    return c.json(
      {
        message: "OTP verified successfully",
        status: "success",
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expiresIn,
      },
      200,
    );
  },
);
