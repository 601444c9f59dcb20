import { describe, expect, it } from "vitest";
import { OtpInvalidError } from "../../src/kernel/errors/service-error";
import { describeError } from "../../src/kernel/log/log";
import { callWith, get, post, sendOtp, uniquePhone, verifyOtp } from "../helpers/api";
import { expectProblem } from "../helpers/problem";
import { setUpWorkerTest } from "../helpers/setup";

const fast2sms = setUpWorkerTest();

/** HS256 over {"sub":"+919876543210"} with a key this service does not have. */
const FOREIGN_JWT =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIrOTE5ODc2NTQzMjEwIn0.c2lnbmF0dXJlLW9mLWFub3RoZXIta2V5LWF0LWFsbC14eA";

describe("invalid_request", () => {
  const cases: [string, string | unknown, RegExp][] = [
    ["a body that is not JSON", "{phone: 98765", /not valid JSON/],
    ["a JSON array", [], /JSON object/],
    ["a JSON string", '"hello"', /JSON object/],
    ["null", "null", /JSON object/],
    ["a missing phone", {}, /"phone" is required/],
    ["a phone of the wrong type", { phone: 9876543210 }, /"phone" must be a string/],
    ["an unknown field", { phone: "+919876543210", admin: true }, /Unknown field "admin"/],
    [
      "a channel that is not offered",
      { phone: "+919876543210", channel: "pigeon" },
      /^Field "channel" must be one of: sms, voice, whatsapp\.$/,
    ],
    [
      "a channel of the wrong type",
      { phone: "+919876543210", channel: 1 },
      /^Field "channel" must be one of: sms, voice, whatsapp\.$/,
    ],
  ];
  for (const [name, body, detail] of cases) {
    it(`send-otp refuses ${name}`, async () => {
      const res = await post("/send-otp", body);
      expectProblem(res, 400, "invalid_request");
      expect(res.body.detail).toMatch(detail);
    });
  }

  it("verify-otp refuses a missing or malformed otp", async () => {
    expectProblem(await post("/verify-otp", { phone: "+919876543210" }), 400, "invalid_request");
    expectProblem(await verifyOtp("+919876543210", "12ab56", "AAAAAAAAAAAAAAAAAAAAAA"), 400, "invalid_request");
    expectProblem(await post("/verify-otp", { phone: "+919876543210", otp: 123456 }), 400, "invalid_request");
    expectProblem(await verifyOtp("+919876543210", "１２３４５６", "AAAAAAAAAAAAAAAAAAAAAA"), 400, "invalid_request");
  });

  it("refuses a body that is not JSON by content type with 415", async () => {
    const res = await post("/send-otp", "phone=%2B919876543210", {
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expectProblem(res, 415, "unsupported_media_type");
  });

  it("refuses a body above 4 KB with 413 payload_too_large", async () => {
    const res = await post("/send-otp", { phone: "+919876543210", pad: "x".repeat(5000) });
    expectProblem(res, 413, "payload_too_large");
  });
});

describe("phone numbers", () => {
  it.each(["12345", "+91 22 2345 6789", "not a number", "+91987654321099", "98765432101"])(
    "%s is invalid_phone",
    async (phone) => {
      expectProblem(await sendOtp(phone), 400, "invalid_phone");
      expect(fast2sms.requests).toHaveLength(0);
    },
  );

  it("a valid number outside ALLOWED_COUNTRIES is country_not_allowed (403)", async () => {
    const res = await sendOtp("+14155552671");
    expectProblem(res, 403, "country_not_allowed");
    expect(res.body.detail).toMatch(/Allowed: IN/);
    expect(fast2sms.requests).toHaveLength(0);
  });

  it.each([
    "+919876543210",
    "+91 98765 43210",
    "919876543210",
    "09876543210",
    "9876543210",
    "(98765) 432-10",
    "098765-43210",
  ])("accepts %s and normalises it to E.164", async (input) => {
    const res = await callWith({ SMS_PROVIDER: "console" }, "/send-otp", { json: { phone: input } });
    expect([200, 429]).toContain(res.status);
    if (res.status === 200) expect(res.body.phone).toBe("+919876543210");
    else expect(res.body.code).toBe("rate_limited"); // same number, so later forms hit the cooldown
  });
});

describe("verify without a code", () => {
  it("is otp_not_found for a number that has no pending code", async () => {
    expectProblem(await verifyOtp(uniquePhone(), "123456", "AAAAAAAAAAAAAAAAAAAAAA"), 404, "otp_not_found");
  });

  it("is invalid_request naming verification_id when the id is missing (OTP_REQUIRE_VERIFICATION_ID defaults to true)", async () => {
    const res = await post("/verify-otp", { phone: uniquePhone(), otp: "123456" });
    expectProblem(res, 400, "invalid_request");
    expect(res.body.detail).toContain('"verification_id"');
    expect(res.body).not.toHaveProperty("attempts_left");
  });
});

describe("the Bearer challenge of a 401 invalid_token", () => {
  it.each([
    ["no Authorization header", {}],
    ["another scheme", { authorization: "Basic dXNlcjpwYXNz" }],
  ])("%s: a bare Bearer challenge, no error code", async (_, headers) => {
    for (const res of [await get("/sessions", { headers }), await post("/logout-all", "", { headers })]) {
      expectProblem(res, 401, "invalid_token");
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
    }
  });

  it.each([
    ["a token that is not a JWT", "Bearer not.a.jwt"],
    ["a JWT signed with another key", `Bearer ${FOREIGN_JWT}`],
    ["an empty Bearer", "Bearer"],
  ])('%s: Bearer error="invalid_token"', async (_, authorization) => {
    const res = await get("/sessions", { headers: { authorization } });
    expectProblem(res, 401, "invalid_token");
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
  });
});

describe("misconfigured", () => {
  it("names a missing secret without its value and sends nothing", async () => {
    const res = await callWith({ FAST2SMS_API_KEY: undefined }, "/send-otp", { json: { phone: uniquePhone() } });
    expectProblem(res, 500, "misconfigured");
    expect(res.body.detail).toMatch(/FAST2SMS_API_KEY/);
    expect(fast2sms.requests).toHaveLength(0);
  });

  it("refuses a JWT_SECRET shorter than 32 bytes, naming it but not its value", async () => {
    const res = await callWith({ JWT_SECRET: "short-secret-value" }, "/verify-otp", {
      json: { phone: uniquePhone(), otp: "123456" },
    });
    expectProblem(res, 500, "misconfigured");
    expect(res.body.detail).toMatch(/JWT_SECRET/);
    expect(JSON.stringify(res.body)).not.toContain("short-secret-value");
  });

  it("names every bad setting at once", async () => {
    const res = await callWith({ OTP_LENGTH: "3", OTP_TTL_SECONDS: "30", FAST2SMS_ROUTE: "dlt" }, "/send-otp", {
      json: { phone: uniquePhone() },
    });
    expectProblem(res, 500, "misconfigured");
    for (const name of ["OTP_LENGTH", "OTP_TTL_SECONDS", "FAST2SMS_SENDER_ID", "FAST2SMS_TEMPLATE_ID"]) {
      expect(res.body.detail).toContain(name);
    }
  });

  it("health stays up even when settings are broken", async () => {
    const res = await callWith({ JWT_SECRET: undefined }, "/health");
    expect(res).toMatchObject({ status: 200, body: { status: "ok" } });
  });
});

describe("routing", () => {
  it("GET /health is ok", async () => {
    expect(await get("/health")).toMatchObject({ status: 200, body: { status: "ok" } });
  });

  it("unknown paths are a problem+json 404", async () => {
    expectProblem(await get("/nope"), 404, "not_found");
  });

  it("GET /dev/outbox does not exist with the fast2sms provider", async () => {
    expectProblem(await get("/dev/outbox"), 404, "not_found");
  });

  it("every response carries a request id", async () => {
    const res = await get("/health");
    expect(res.headers.get("x-request-id")).toMatch(/\S{8,}/);
  });
});

describe("error names in logs", () => {
  it("a ServiceError names itself by its code, so a bundle that renames classes (keep_names = false) logs it readably", () => {
    const err = new OtpInvalidError(2);
    expect(err.name).toBe("ServiceError(otp_invalid)");
    expect(describeError(err)).toBe(
      "ServiceError(otp_invalid): The code is not correct. 2 tries left before it stops working.",
    );
  });
});
