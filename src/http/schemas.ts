import * as z from "zod/mini";

/** Request bodies. Unknown fields are refused; phone numbers are checked by phone/normalize-phone.ts. */
const phone = z.string().check(z.minLength(1, "must not be empty"), z.maxLength(64, "is too long"));

export const sendOtpBody = z.strictObject({
  phone,
  /** Required when TURNSTILE_SECRET_KEY is set (checked in guards/verify-turnstile.ts). */
  turnstile_token: z.optional(z.string().check(z.maxLength(2048, "is too long"))),
});

export const verifyOtpBody = z.strictObject({
  phone,
  otp: z.string().check(z.regex(/^[0-9]{4,10}$/, "must be the 4-10 digit code from the SMS")),
});
