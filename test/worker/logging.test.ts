import { beforeEach, describe, expect, it, vi } from "vitest";
import { callWith, sendOtp, uniquePhone, verifyOtp } from "../helpers/api";
import { refused } from "../helpers/fake-fast2sms";
import { setUpWorkerTest } from "../helpers/setup";

const fast2sms = setUpWorkerTest();
let output: string[] = [];

beforeEach(() => {
  output = [];
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      output.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
    });
  }
});

const wrong = (code: string) => code.replace(/\d/g, (d) => String((Number(d) + 1) % 10));

describe("logs", () => {
  it("never contain the code, the API key, a secret or a token", async () => {
    const phone = uniquePhone();
    await sendOtp(phone);
    const code = fast2sms.lastCode();
    await verifyOtp(phone, wrong(code));
    const ok = await verifyOtp(phone, code);
    const token = ok.body.access_token as string;
    expect(token).toBeTruthy();

    const other = uniquePhone();
    fast2sms.respond(refused(401, 412, "Invalid Authentication, Check Authorization Key"));
    await sendOtp(other);
    const failedCode = fast2sms.lastCode();

    const console = await callWith({ SMS_PROVIDER: "console" }, "/send-otp", { json: { phone: uniquePhone() } });
    expect(console.status).toBe(200);

    const all = output.join("\n");
    expect(output.length).toBeGreaterThanOrEqual(5);
    for (const secret of [
      code,
      wrong(code),
      failedCode,
      token,
      "test-fast2sms-key-7f3a",
      "test-jwt-secret",
      "test-otp-hash-secret",
    ]) {
      expect(all).not.toContain(secret);
    }
  });

  it("write one JSON line per request with the number masked", async () => {
    const phone = uniquePhone();
    await sendOtp(phone);
    const lines = output.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === "request");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toEqual({
      event: "request",
      method: "POST",
      path: "/send-otp",
      status: 200,
      duration_ms: expect.any(Number),
      request_id: expect.any(String),
      phone: `+91******${phone.slice(-4)}`,
    });
    expect(output.join("\n")).not.toContain(phone);
  });
});
