import * as z from "zod/mini";

/**
 * Supabase Auth's Send SMS hook: what it posts (only the fields the service
 * reads; Supabase sends the whole user object) and what it expects back.
 */
export const supabaseSendSmsBody = z.looseObject({
  user: z.looseObject({
    phone: z
      .string()
      .check(z.maxLength(32), z.describe("The number with its country code, with or without the leading +.")),
  }),
  sms: z.looseObject({
    otp: z
      .string()
      .check(z.regex(/^\d{4,10}$/), z.describe("The code Supabase made (4-10 digits); it checks it itself.")),
  }),
});

/** 200: the message went out. */
export const supabaseHookResponse = z.strictObject({});

/** Every refusal, in the form Supabase reads: the problem's status and its detail. */
export const supabaseHookError = z.strictObject({
  error: z.strictObject({
    http_code: z.int().check(z.describe("The HTTP status, as the answer's own.")),
    message: z.string().check(z.describe("The problem's detail: a sentence Supabase shows to its user.")),
  }),
});

export type SupabaseHookError = z.output<typeof supabaseHookError>;
