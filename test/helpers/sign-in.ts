import { expect } from "vitest";
import { type ApiResponse, callWith, uniquePhone } from "./api";
import type { FakeFast2Sms } from "./fake-fast2sms";

/** Runs send → verify for a fresh number with these settings; returns the number and the verify response. */
export async function signIn(
  fast2sms: FakeFast2Sms,
  overrides: Record<string, string | undefined>,
): Promise<{ phone: string; verified: ApiResponse }> {
  const phone = uniquePhone();
  const sent = await callWith(overrides, "/send-otp", { json: { phone } });
  expect(sent.status).toBe(200);
  const verified = await callWith(overrides, "/verify-otp", {
    json: { phone, otp: fast2sms.lastCode(), verification_id: sent.body.verification_id },
  });
  return { phone, verified };
}
