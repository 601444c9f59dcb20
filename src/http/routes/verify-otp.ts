import { Hono } from "hono";
import { verifyOtp } from "../../domain/otp/otp-service";
import { describeClient } from "../../domain/sessions/describe-client";
import { announceSession, issuedSession, prepareSession } from "../../domain/sessions/session-service";
import { InvalidRequestError } from "../../kernel/errors/service-error";
import { normalizePhone } from "../../kernel/phone/normalize-phone";
import type { AppEnv } from "../core/app-env";
import { requestClient } from "../core/client-network";
import { tokenAnswer } from "../core/token-answer";
import { validateJson } from "../core/validate-json";
import { otpDeps } from "../deps/otp-deps";
import { sessionDeps } from "../deps/session-deps";
import { jsonBody, MAX_JSON_BODY_BYTES } from "../middleware/json-body";
import { settingsAndKeys } from "../middleware/settings-and-keys";
import { type VerifyOtpResponse, verifyOtpBody } from "../schemas/api-schemas";

/**
 * POST /verify-otp {"phone","otp","verification_id"}: check the code; on success, answer with a
 * signed access token and a refresh token (a new session), plus a Firebase custom token when
 * FIREBASE_SERVICE_ACCOUNT is set.
 */
export const verifyOtpRoute = new Hono<AppEnv>().post(
  "/verify-otp",
  settingsAndKeys(),
  jsonBody(MAX_JSON_BODY_BYTES),
  validateJson(verifyOtpBody),
  async (c) => {
    const settings = c.get("settings");
    const body = c.req.valid("json");
    const phone = normalizePhone(body.phone, settings.allowedCountries);
    c.set("phone", phone.e164);
    if (body.verification_id === undefined && settings.otp.requireVerificationId) {
      throw new InvalidRequestError(
        'Field "verification_id" is required: send the verification_id that /send-otp answered.',
      );
    }
    // As at /send-otp, a backend verifying for its users names each user's address, so one user's
    // failures do not spend the others' verify allowance.
    // The refresh-token session (src/domain/sessions/ and src/platform/sessions/) is made ready here and started
    // by the number's object in the same call that uses the code up; the access token names it in its `sid` claim.
    const deps = sessionDeps(c);
    const prepared = await prepareSession(deps, phone.e164, describeClient(c.req.header("user-agent")));
    const verified = await verifyOtp(
      otpDeps(c),
      phone,
      body.otp,
      body.verification_id,
      await requestClient(c),
      prepared.request,
    );
    const session = issuedSession(prepared, verified.session);
    // Tokens that cannot be signed sign nobody in: the code is given back and the session ended, so a retry works;
    // the app's backend hears of the verification and the session only once the client has its tokens.
    const tokens = await tokenAnswer(c.var, phone.e164, session).catch(async (err: unknown) => {
      await verified.giveBack();
      throw err;
    });
    verified.approved();
    announceSession(deps, phone.e164, session);
    c.header("cache-control", "no-store");
    return c.json(
      { message: "OTP verified successfully", status: "success", ...tokens } satisfies VerifyOtpResponse,
      200,
    );
  },
);
