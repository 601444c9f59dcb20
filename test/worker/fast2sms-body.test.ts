import { describe, expect, it } from "vitest";
import { fast2smsBody } from "../../src/platform/sms/fast2sms-gateway";

const message = {
  to: { e164: "+919876543210", country: "IN" as const, national: "9876543210" },
  code: "482913",
  appName: "Kirana",
};
const base = {
  apiKey: "k",
  baseUrl: "https://fast2sms.test",
  senderId: undefined,
  templateId: undefined,
  timeoutMs: 1000,
};

describe("fast2smsBody: the JSON body of POST /dev/bulkV2 per route", () => {
  it("otp: the code as variables_values, the 10-digit national number", () => {
    expect(fast2smsBody({ ...base, route: "otp" }, message)).toEqual({
      route: "otp",
      variables_values: "482913",
      numbers: "9876543210",
    });
  });

  it("q: the whole text, written by the service", () => {
    expect(fast2smsBody({ ...base, route: "q" }, message)).toEqual({
      route: "q",
      message: "Your Kirana verification code is 482913",
      numbers: "9876543210",
    });
  });

  it("dlt: sender id, the template's message id, the code as its variable", () => {
    expect(fast2smsBody({ ...base, route: "dlt", senderId: "KIRANA", templateId: "165432" }, message)).toEqual({
      route: "dlt",
      sender_id: "KIRANA",
      message: "165432",
      variables_values: "482913",
      numbers: "9876543210",
    });
  });
});
