import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { REASON_MAX_LENGTH } from "../../src/platform/delivery/reports/delivery-report";
import { parseFast2SmsReport } from "../../src/platform/delivery/reports/fast2sms-report";
import { parseMsg91Report } from "../../src/platform/delivery/reports/msg91-report";
import { type DeliveryReport, reportParsers } from "../../src/platform/delivery/reports/report-parsers";
import { parseTwoFactorReport } from "../../src/platform/delivery/reports/twofactor-report";

const JSON_TYPE = "application/json";
const FORM_TYPE = "application/x-www-form-urlencoded";
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** Bodies no parser may read as a report, nor throw on. */
const GARBAGE = [
  "",
  " ",
  "null",
  "true",
  "42",
  '"delivered"',
  "[]",
  "[1, 2, null]",
  "{",
  "{}",
  "not json at all",
  '{"status":"delivered"}',
  '{"request_id":null,"requestId":null,"SessionId":null,"status":"delivered","Status":"DELIVERED"}',
  '{"request_id":{},"requestId":[],"SessionId":true,"status":"1","Status":"DELIVERED"}',
  "\u0000\u0001\u0002",
];

describe("Fast2SMS delivery reports", () => {
  const RID = "lwdtp7cjyqxvfe9";

  it("reads a delivered report, with the extra variables an operator may add", () => {
    const body = JSON.stringify({
      request_id: RID,
      mobile: "9876543210",
      status: "delivered",
      failure_reason: "",
      amount_debited: "0.20",
      udf1: "otp-7f3a",
      post_attempt: 1,
      sms_count: 1,
    });
    expect(parseFast2SmsReport(body, JSON_TYPE)).toEqual([{ messageId: RID, status: "delivered" }]);
  });

  it("reads a failed report with its failure reason", () => {
    const body = JSON.stringify({
      request_id: RID,
      mobile: "9876543210",
      status: "failed",
      failure_reason: "DLT-TEMPLATE-NOT-MATCHED",
    });
    expect(parseFast2SmsReport(body, JSON_TYPE)).toEqual([
      { messageId: RID, status: "failed", reason: "DLT-TEMPLATE-NOT-MATCHED" },
    ]);
  });

  it("reads the status in any case, and a failure without a reason still says it failed", () => {
    expect(parseFast2SmsReport(JSON.stringify({ request_id: RID, status: "DELIVERED" }), JSON_TYPE)).toEqual([
      { messageId: RID, status: "delivered" },
    ]);
    expect(parseFast2SmsReport(JSON.stringify({ request_id: RID, status: "Failed" }), JSON_TYPE)).toEqual([
      { messageId: RID, status: "failed", reason: "failed" },
    ]);
  });

  it("keeps a reason off a delivered report", () => {
    const body = JSON.stringify({ request_id: RID, status: "delivered", failure_reason: "leftover" });
    expect(parseFast2SmsReport(body, JSON_TYPE)).toEqual([{ messageId: RID, status: "delivered" }]);
  });

  it("ignores statuses that are not final", () => {
    for (const status of ["pending", "sent", "submitted", "", "deliveredx"]) {
      expect(parseFast2SmsReport(JSON.stringify({ request_id: RID, status }), JSON_TYPE)).toEqual([]);
    }
  });

  it("reads a form-encoded body", () => {
    const body = form({ request_id: RID, mobile: "9876543210", status: "failed", failure_reason: "NDNC REJECTED" });
    expect(parseFast2SmsReport(body, `${FORM_TYPE}; charset=utf-8`)).toEqual([
      { messageId: RID, status: "failed", reason: "NDNC REJECTED" },
    ]);
  });

  it("reads an array, and keeps one of each repeated report", () => {
    const a = { request_id: "aaaaaaaaaaaaaaa", status: "delivered" };
    const b = { request_id: "bbbbbbbbbbbbbbb", status: "failed", failure_reason: "ABSENT-SUB" };
    const reports = parseFast2SmsReport(JSON.stringify([a, b, a, { ...b, post_attempt: 2 }, 7, null]), JSON_TYPE);
    expect(reports).toEqual([
      { messageId: "aaaaaaaaaaaaaaa", status: "delivered" },
      { messageId: "bbbbbbbbbbbbbbb", status: "failed", reason: "ABSENT-SUB" },
    ]);
  });

  it("states the time only when it is unambiguous", () => {
    const at = (delivery_time: unknown) =>
      parseFast2SmsReport(JSON.stringify({ request_id: RID, status: "delivered", delivery_time }), JSON_TYPE)[0]?.at;
    expect(at(1751142888)).toBe(1751142888000);
    expect(at("1751142888123")).toBe(1751142888123);
    expect(at("2025-06-28T20:34:48Z")).toBe(Date.UTC(2025, 5, 28, 20, 34, 48));
    expect(at("2025-06-28T20:34:48+05:30")).toBe(Date.UTC(2025, 5, 28, 15, 4, 48));
    expect(at("2025-06-28 20:34:48")).toBeUndefined();
    expect(at("yesterday")).toBeUndefined();
  });

  it("cleans the gateway's reason: no control characters, bounded length", () => {
    const body = JSON.stringify({
      request_id: RID,
      status: "failed",
      failure_reason: `bad\r\nline\u0000${"x".repeat(500)}`,
    });
    const [r] = parseFast2SmsReport(body, JSON_TYPE);
    expect(r?.reason).toMatch(/^bad line x+$/);
    expect(r?.reason).toHaveLength(REASON_MAX_LENGTH);
  });

  it("reads a numeric id as text and refuses ids that are empty, huge or hold control characters", () => {
    expect(parseFast2SmsReport(JSON.stringify({ request_id: 12345, status: "delivered" }), JSON_TYPE)).toEqual([
      { messageId: "12345", status: "delivered" },
    ]);
    for (const request_id of ["", "   ", "x".repeat(201), "abc\ndef"]) {
      expect(parseFast2SmsReport(JSON.stringify({ request_id, status: "delivered" }), JSON_TYPE)).toEqual([]);
    }
  });

  it.each(GARBAGE)("gives nothing for garbage %j", (body) => {
    expect(parseFast2SmsReport(body, JSON_TYPE)).toEqual([]);
    expect(parseFast2SmsReport(body, FORM_TYPE)).toEqual([]);
    expect(parseFast2SmsReport(body, null)).toEqual([]);
  });
});

describe("MSG91 delivery reports (Webhook (New), On Report Received)", () => {
  const RID = "3567736c53515771356c4878";
  const event = (fields: Record<string, unknown>) =>
    JSON.stringify({
      requestId: RID,
      telNum: "919876543210",
      CRQID: "otp-7f3a",
      verified: "0",
      otpRetry: "0",
      ...fields,
    });

  it.each([["1"], [1], ["Delivered"], ["DELIVERED"], ["delivered"]])("reads status %j as delivered", (status) => {
    expect(parseMsg91Report(event({ status, failureReason: "" }), JSON_TYPE)).toEqual([
      { messageId: RID, status: "delivered" },
    ]);
  });

  it.each([
    ["2", "failed"],
    ["9", "NDNC"],
    ["16", "rejected"],
    ["17", "blocked number"],
    ["25", "rejected"],
    ["26", "rejected"],
    [2, "failed"],
    ["Failed", "Failed"],
    ["Rejected", "Rejected"],
    ["REJECTED", "REJECTED"],
  ])("reads status %j as failed, and without a failure reason says %j", (status, reason) => {
    expect(parseMsg91Report(event({ status }), JSON_TYPE)).toEqual([{ messageId: RID, status: "failed", reason }]);
  });

  it("prefers MSG91's failure reason to the status code's meaning", () => {
    const body = event({ status: "2", failureReason: "SMS not Matched with DLT Template" });
    expect(parseMsg91Report(body, JSON_TYPE)).toEqual([
      { messageId: RID, status: "failed", reason: "SMS not Matched with DLT Template" },
    ]);
  });

  it("ignores every other status", () => {
    for (const status of ["0", "3", "5", "8", "Pending", "Sent", "", "{{status}}"]) {
      expect(parseMsg91Report(event({ status }), JSON_TYPE)).toEqual([]);
    }
  });

  it("reads an array of events, keeping one of each repeated report", () => {
    const body = JSON.stringify([
      { requestId: "aaaaaaaaaaaaaaaaaaaaaaaa", status: "1" },
      { requestId: "bbbbbbbbbbbbbbbbbbbbbbbb", status: "17" },
      { requestId: "aaaaaaaaaaaaaaaaaaaaaaaa", status: "1", deliveryTime: "later" },
      { requestId: "cccccccccccccccccccccccc", status: "3" },
    ]);
    expect(parseMsg91Report(body, JSON_TYPE)).toEqual([
      { messageId: "aaaaaaaaaaaaaaaaaaaaaaaa", status: "delivered" },
      { messageId: "bbbbbbbbbbbbbbbbbbbbbbbb", status: "failed", reason: "blocked number" },
    ]);
  });

  it("keeps a delivered and a failed report of the same request (multi-device, out of order): the caller decides", () => {
    const body = JSON.stringify([
      { requestId: RID, status: "2" },
      { requestId: RID, status: "1" },
    ]);
    expect(parseMsg91Report(body, JSON_TYPE).map((r) => r.status)).toEqual(["failed", "delivered"]);
  });

  it("reads the delivery time when it has a zone", () => {
    expect(parseMsg91Report(event({ status: "1", deliveryTime: "2025-07-19T07:15:48.000Z" }), JSON_TYPE)).toEqual([
      { messageId: RID, status: "delivered", at: Date.UTC(2025, 6, 19, 7, 15, 48) },
    ]);
    expect(parseMsg91Report(event({ status: "1", deliveryTime: "2025-07-19 07:15:48" }), JSON_TYPE)).toEqual([
      { messageId: RID, status: "delivered" },
    ]);
  });

  it("reads the legacy flat (v3) body", () => {
    const body = JSON.stringify({
      date: "2024-05-22 09:58:16",
      number: "919876543210",
      senderId: "ABCDEF",
      requestId: "346a5b6c7d8e9f0a1b2c3d130",
      INMSID: "0",
      CRQID: "0",
      status: "16",
      desc: "REJECTED",
    });
    expect(parseMsg91Report(body, JSON_TYPE)).toEqual([
      { messageId: "346a5b6c7d8e9f0a1b2c3d130", status: "failed", reason: "rejected" },
    ]);
  });

  it("reads the legacy v2 body: form-encoded `data` holding a JSON array of requests and their reports", () => {
    const data = JSON.stringify([
      {
        senderId: "ABCDEF",
        requestId: "346a5b6c7d8e9f0a1b2c3d130",
        report: [
          { date: "2024-05-22 10:06:20", number: "919876543210", status: "1", desc: "DELIVERED", failedReason: "" },
          { number: "919876543211", status: "2", desc: "FAILED", failedReason: "TEMPLATE-NOT-MATCHED" },
        ],
        userId: "27XXXX",
      },
    ]);
    expect(parseMsg91Report(form({ data }), FORM_TYPE)).toEqual([
      { messageId: "346a5b6c7d8e9f0a1b2c3d130", status: "delivered" },
      { messageId: "346a5b6c7d8e9f0a1b2c3d130", status: "failed", reason: "TEMPLATE-NOT-MATCHED" },
    ]);
    expect(parseMsg91Report(form({ data: "[not json" }), FORM_TYPE)).toEqual([]);
    expect(parseMsg91Report(form({ data: '{"requestId":"x"}' }), FORM_TYPE)).toEqual([]);
  });

  it.each(GARBAGE)("gives nothing for garbage %j", (body) => {
    expect(parseMsg91Report(body, JSON_TYPE)).toEqual([]);
    expect(parseMsg91Report(body, null)).toEqual([]);
  });
});

describe("2Factor delivery reports (callback URL)", () => {
  const SID = "c8e46da6-7b5c-4515-a3b2-83bf045cce44";
  const sms = (Status: string) => form({ mode: "SMS_OTP", SessionId: SID, To: "9876543210", Status });
  const call = (Status: string, callDetailStatus: string) =>
    form({
      mode: "VOICE_OTP",
      SessionId: SID,
      To: "9876543210",
      Status,
      api_request_time: "2015-11-25 13:21:34",
      call_start_time: "2015-11-25 13:21:41",
      call_end_time: "2015-11-25 13:21:44",
      callDetailStatus,
    });

  it("reads an SMS delivered, failed or rejected", () => {
    expect(parseTwoFactorReport(sms("DELIVERED"), FORM_TYPE)).toEqual([{ messageId: SID, status: "delivered" }]);
    expect(parseTwoFactorReport(sms("FAILED"), FORM_TYPE)).toEqual([
      { messageId: SID, status: "failed", reason: "FAILED" },
    ]);
    expect(parseTwoFactorReport(sms("REJECTED"), FORM_TYPE)).toEqual([
      { messageId: SID, status: "failed", reason: "REJECTED" },
    ]);
    expect(parseTwoFactorReport(sms("delivered"), FORM_TYPE)).toEqual([{ messageId: SID, status: "delivered" }]);
  });

  it("reads an answered call as delivered", () => {
    expect(parseTwoFactorReport(call("DELIVERED", "DELIVERED"), FORM_TYPE)).toEqual([
      { messageId: SID, status: "delivered" },
    ]);
  });

  it.each([
    "DELIVERED (USR_BUSY)",
    "DELIVERED (USR_NOT_PICKD)",
    "DELIVERED (USR_TMP_UNAVLBL)",
    "DELIVERED (USR_SOMETHING_NEW)",
  ])("reads a call %j as failed, whether the word is in Status or in callDetailStatus", (word) => {
    expect(parseTwoFactorReport(call(word, word), FORM_TYPE)).toEqual([
      { messageId: SID, status: "failed", reason: word },
    ]);
    expect(parseTwoFactorReport(call("DELIVERED", word), FORM_TYPE)).toEqual([
      { messageId: SID, status: "failed", reason: word },
    ]);
    expect(parseTwoFactorReport(sms(word), FORM_TYPE)).toEqual([{ messageId: SID, status: "failed", reason: word }]);
  });

  it("reads a call whose detail says it failed or was rejected as failed", () => {
    expect(parseTwoFactorReport(call("DELIVERED", "REJECTED"), FORM_TYPE)).toEqual([
      { messageId: SID, status: "failed", reason: "REJECTED" },
    ]);
    expect(parseTwoFactorReport(call("FAILED", "FAILED"), FORM_TYPE)).toEqual([
      { messageId: SID, status: "failed", reason: "FAILED" },
    ]);
  });

  it("ignores other statuses and bodies without a SessionId", () => {
    expect(parseTwoFactorReport(sms("PENDING"), FORM_TYPE)).toEqual([]);
    expect(parseTwoFactorReport(sms("DELIVERED-ISH"), FORM_TYPE)).toEqual([]);
    expect(parseTwoFactorReport(form({ mode: "SMS_OTP", To: "9876543210", Status: "DELIVERED" }), FORM_TYPE)).toEqual(
      [],
    );
    expect(parseTwoFactorReport(form({ SessionId: SID }), FORM_TYPE)).toEqual([]);
  });

  it("reads the same fields sent as JSON", () => {
    const body = JSON.stringify({ mode: "SMS_OTP", SessionId: SID, To: "9876543210", Status: "REJECTED" });
    expect(parseTwoFactorReport(body, JSON_TYPE)).toEqual([{ messageId: SID, status: "failed", reason: "REJECTED" }]);
  });

  it.each(GARBAGE)("gives nothing for garbage %j", (body) => {
    expect(parseTwoFactorReport(body, FORM_TYPE)).toEqual([]);
    expect(parseTwoFactorReport(body, JSON_TYPE)).toEqual([]);
  });
});

describe("reportParsers", () => {
  it("has one parser per reporting gateway, each reading only its own format", () => {
    expect(Object.keys(reportParsers).sort()).toEqual(["fast2sms", "msg91", "twofactor"]);
    const fast2sms = JSON.stringify({ request_id: "r1", status: "delivered" });
    const msg91 = JSON.stringify({ requestId: "r2", status: "1" });
    const twofactor = form({ SessionId: "r3", Status: "DELIVERED" });
    expect(reportParsers.fast2sms(fast2sms, JSON_TYPE)).toEqual([{ messageId: "r1", status: "delivered" }]);
    expect(reportParsers.msg91(msg91, JSON_TYPE)).toEqual([{ messageId: "r2", status: "delivered" }]);
    expect(reportParsers.twofactor(twofactor, FORM_TYPE)).toEqual([{ messageId: "r3", status: "delivered" }]);
    // Each reads its own id field only.
    expect(reportParsers.fast2sms(msg91, JSON_TYPE)).toEqual([]);
    expect(reportParsers.msg91(fast2sms, JSON_TYPE)).toEqual([]);
    expect(reportParsers.twofactor(fast2sms, JSON_TYPE)).toEqual([]);
  });

  it("never throws, whatever the body, and every report it gives is well formed", () => {
    const seed = Number((env as unknown as { PROPERTY_SEED?: string }).PROPERTY_SEED ?? "20261125");
    const bodies = fc.oneof(
      fc.string(),
      fc.json(),
      fc
        .array(
          fc.record({
            request_id: fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
            requestId: fc.oneof(fc.string(), fc.integer()),
            SessionId: fc.string(),
            status: fc.constantFrom("delivered", "FAILED", "1", "2", "9", "x", 1, null),
            Status: fc.constantFrom("DELIVERED", "REJECTED", "DELIVERED (USR_BUSY)", ""),
            failure_reason: fc.string(),
            failureReason: fc.string(),
            delivery_time: fc.oneof(fc.integer(), fc.string()),
          }),
        )
        .map((a) => JSON.stringify(a)),
    );
    const types = fc.constantFrom(JSON_TYPE, FORM_TYPE, null, "text/plain");
    fc.assert(
      fc.property(bodies, types, (body, type) => {
        for (const parse of Object.values(reportParsers)) {
          const reports: DeliveryReport[] = parse(body, type);
          for (const r of reports) {
            expect(typeof r.messageId).toBe("string");
            expect(r.messageId.length).toBeGreaterThan(0);
            expect(["delivered", "failed"]).toContain(r.status);
            if (r.reason !== undefined) expect(r.reason.length).toBeLessThanOrEqual(REASON_MAX_LENGTH);
            if (r.at !== undefined) expect(Number.isFinite(r.at)).toBe(true);
          }
        }
      }),
      { seed, numRuns: 300 },
    );
  });

  it("never throws on a body that is not a string", () => {
    for (const parse of Object.values(reportParsers)) {
      expect(parse(undefined as unknown as string, JSON_TYPE)).toEqual([]);
      expect(parse({} as unknown as string, JSON_TYPE)).toEqual([]);
    }
  });
});
