import { z } from "zod";

/** Request bodies. Unknown fields are refused; phone numbers are checked by phone/normalize-phone.ts. */
export const sendOtpBody = z.strictObject({
  phone: z.string().min(1, "must not be empty").max(64, "is too long"),
  /** Required when TURNSTILE_SECRET_KEY is set (checked in guards/verify-turnstile.ts). */
  turnstile_token: z.string().max(2048, "is too long").optional(),
});

export const verifyOtpBody = z.strictObject({
  phone: z.string().min(1, "must not be empty").max(64, "is too long"),
  otp: z.string().regex(/^[0-9]{4,10}$/, "must be the 4-10 digit code from the SMS"),
});
