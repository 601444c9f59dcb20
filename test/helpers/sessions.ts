import { expect } from "vitest";
import { type ApiResponse, callWith, post, uniquePhone } from "./api";
import type { FakeFast2Sms } from "./fake-fast2sms";

export interface SignedIn {
  phone: string;
  accessToken: string;
  refreshToken: string;
  sessionId: string;
  verified: ApiResponse;
}

/**
 * send-otp then verify-otp for `phone` (a fresh number by default), with
 * `settings` overrides when given. Passes `verification_id` from the send's
 * answer when there is one (JSON.stringify drops it while it is undefined).
 */
export async function signIn(
  fast2sms: FakeFast2Sms,
  options: { phone?: string; settings?: Record<string, unknown>; userAgent?: string } = {},
): Promise<SignedIn> {
  const phone = options.phone ?? uniquePhone();
  const headers: Record<string, string> = options.userAgent ? { "user-agent": options.userAgent } : {};
  const call = (path: string, json: unknown) =>
    options.settings
      ? callWith(options.settings, path, { json, headers })
      : post(path, json, { headers: { "content-type": "application/json", ...headers } });
  const sent = await call("/send-otp", { phone });
  expect(sent.status).toBe(200);
  const verified = await call("/verify-otp", {
    phone,
    otp: fast2sms.lastCode(),
    verification_id: sent.body.verification_id,
  });
  expect(verified.status).toBe(200);
  const accessToken = verified.body.access_token as string;
  const claims = JSON.parse(atob(accessToken.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))) as { sid: string };
  return { phone, accessToken, refreshToken: verified.body.refresh_token as string, sessionId: claims.sid, verified };
}

export const refresh = (refreshToken: string, settings?: Record<string, unknown>, init: RequestInit = {}) =>
  settings
    ? callWith(settings, "/token/refresh", { json: { refresh_token: refreshToken }, ...init })
    : post("/token/refresh", { refresh_token: refreshToken }, init);

export const bearer = (accessToken: string) => ({ authorization: `Bearer ${accessToken}` });
