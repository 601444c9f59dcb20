import { z } from "zod";

/** Request bodies. Unknown fields are refused; phone numbers are checked by phone/normalize-phone.ts. */
export const sendOtpBody = z.strictObject({
  phone: z.string().min(1, "must not be empty").max(64, "is too long"),
});

export const verifyOtpBody = z.strictObject({
  phone: z.string().min(1, "must not be empty").max(64, "is too long"),
  otp: z.string().regex(/^[0-9]{4,10}$/, "must be the 4-10 digit code from the SMS"),
});
