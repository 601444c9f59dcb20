import { beforeEach, describe, expect, it, vi } from "vitest";
import { describeWait } from "../../src/kernel/describe-wait";
import { describeError, log } from "../../src/kernel/log/log";
import { maskPhone } from "../../src/kernel/phone/mask-phone";

describe("maskPhone", () => {
  it("keeps the country code and the last four digits", () => {
    expect(maskPhone("+919876543210")).toBe("+91******3210");
    expect(maskPhone("+123")).toBe("****");
  });
});

describe("describeWait", () => {
  it("rounds up to seconds, minutes or hours", () => {
    expect(describeWait(0.2)).toBe("1 second");
    expect(describeWait(20)).toBe("20 seconds");
    expect(describeWait(600)).toBe("10 minutes");
    expect(describeWait(23.5 * 3600)).toBe("24 hours");
  });
});

describe("describeError", () => {
  it("is the name and message, never the stack, with numbers masked and opaque runs left out", () => {
    const err = new TypeError("no route to +919876543210");
    expect(describeError(err)).toBe("TypeError: no route to +91******3210");
    expect(describeError("plain text")).toBe("plain text");
    const token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIrOTE5ODc2NTQzMjEwIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    expect(describeError(new Error(`bad token ${token}`))).toBe("Error: bad token [redacted]");
    expect(describeError(new Error("x".repeat(1000))).length).toBeLessThanOrEqual(301);
  });
});

describe("log", () => {
  const lines: { level: string; line: string }[] = [];
  beforeEach(() => {
    lines.length = 0;
    for (const level of ["log", "warn", "error"] as const) {
      vi.spyOn(console, level).mockImplementation((line: unknown) => {
        lines.push({ level, line: String(line) });
      });
    }
  });

  it("writes one JSON line at the catalog's level, the number masked whatever the caller passes", () => {
    log("sms.sent", { to: "+919876543210", gateway: "fast2sms", channel: "sms", duration_ms: 5 });
    log("sms.outbox", { to: { e164: "+919876543211" }, note: "n" });
    log("otp.give_back_failed", { error: new Error("gone") });
    log("request.error", { request_id: "r", code: "internal", error: "Error", reason: "call +91 98765 43212" });
    expect(lines.map((l) => l.level)).toEqual(["log", "log", "error", "error"]);
    expect(lines.map((l) => JSON.parse(l.line))).toEqual([
      { event: "sms.sent", to: "+91******3210", gateway: "fast2sms", channel: "sms", duration_ms: 5 },
      { event: "sms.outbox", to: "+91******3211", note: "n" },
      { event: "otp.give_back_failed", error: "Error: gone" },
      { event: "request.error", request_id: "r", code: "internal", error: "Error", reason: "call +91******3212" },
    ]);
  });

  it("leaves out undefined fields and masks reasons inside nested fields", () => {
    log("sms.failed", {
      to: "+919876543210",
      provider: "a,b",
      delivery: "not_sent",
      http_status: undefined,
      provider_code: undefined,
      reason: "both failed",
      attempts: [
        { gateway: "a", delivery: "not_sent", http_status: 400, provider_code: undefined, reason: "+919876543210" },
      ],
    });
    expect(JSON.parse(lines[0]!.line)).toEqual({
      event: "sms.failed",
      to: "+91******3210",
      provider: "a,b",
      delivery: "not_sent",
      reason: "both failed",
      attempts: [{ gateway: "a", delivery: "not_sent", http_status: 400, reason: "+91******3210" }],
    });
  });
});
