import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { callWith } from "../helpers/api";
import { setUpWorkerTest } from "../helpers/setup";

/**
 * Property: whatever arrives at /send-otp or /verify-otp, the answer is never
 * a 5xx, and is either a documented success or an RFC 9457 problem with a
 * documented code. 600 generated requests per endpoint per run.
 */
const _fast2sms = setUpWorkerTest();

const RUNS_PER_ENDPOINT = 600;
/** A fixed seed, so every run tries the same requests; PROPERTY_SEED=<n> npm test replays or explores another. */
const SEED = Number((env as unknown as { PROPERTY_SEED?: string }).PROPERTY_SEED ?? "20261125");
console.log(`property tests: seed ${SEED} (set PROPERTY_SEED to change it)`);
const DOCUMENTED_4XX = new Set([
  "invalid_request",
  "payload_too_large",
  "unsupported_media_type",
  "invalid_phone",
  "country_not_allowed",
  "otp_not_found",
  "otp_invalid",
  "too_many_attempts",
  "rate_limited",
]);

const digits = (n: number) => fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: n, maxLength: n });
const unicodeDigits = fc.string({
  unit: fc.constantFrom(..."०१२३४५६७८९٠١٢٣٤٥٦٧٨٩０１２３４５６７８９𝟎𝟏𝟐"),
  minLength: 1,
  maxLength: 14,
});

/** Phone numbers in every shape people and bots send. */
const phoneLike = fc.oneof(
  digits(10).map((d) => `+91${d}`),
  digits(10).map((d) => `9${d.slice(1)}`),
  digits(10).map((d) => `0${d}`),
  digits(10).map((d) => `91${d}`),
  digits(10).map((d) => `+91 ${d.slice(0, 5)} ${d.slice(5)}`),
  digits(10).map((d) => `(${d.slice(0, 5)}) ${d.slice(5, 8)}-${d.slice(8)}`),
  fc.string({ maxLength: 40 }),
  unicodeDigits,
  fc.string({ minLength: 100, maxLength: 6000 }),
  fc.integer().map(String),
  digits(15).map((d) => `+${d}`),
);

const anyValue = fc.oneof(phoneLike, fc.jsonValue(), fc.integer(), fc.constant(null), fc.array(fc.string()));

const body = (fields: Record<string, fc.Arbitrary<unknown>>) =>
  fc.oneof(
    { weight: 5, arbitrary: fc.record(fields, { requiredKeys: [] }) },
    { weight: 2, arbitrary: fc.record({ ...fields, extra: anyValue }, { requiredKeys: [] }) },
    { weight: 2, arbitrary: fc.jsonValue() },
    { weight: 1, arbitrary: fc.string({ maxLength: 8000 }).map((raw) => ({ raw })) },
  );

const contentType = fc.oneof(
  { weight: 6, arbitrary: fc.constant("application/json") },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "application/json; charset=utf-8",
      "APPLICATION/JSON",
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "",
      "application/problem+json",
    ),
  },
);

async function call(path: string, payload: unknown, type: string, ip: string) {
  const raw =
    typeof payload === "object" && payload !== null && "raw" in payload ? String(payload.raw) : JSON.stringify(payload);
  const headers: Record<string, string> = { "cf-connecting-ip": ip };
  if (type) headers["content-type"] = type;
  return callWith({}, path, { method: "POST", headers, body: raw });
}

/** Outcomes seen, so each run also proves it reached past validation. */
const seen = new Map<string, Set<string>>();

function expectDocumented(
  path: string,
  res: Awaited<ReturnType<typeof call>>,
  success: (b: Record<string, unknown>) => boolean,
) {
  if (!seen.has(path)) seen.set(path, new Set());
  seen.get(path)!.add(String(res.body.code ?? res.status));
  expect(res.status).toBeLessThan(500);
  if (res.status === 200) {
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(success(res.body)).toBe(true);
    return;
  }
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  expect(DOCUMENTED_4XX.has(res.body.code as string)).toBe(true);
  expect(res.body).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status: res.status,
    detail: expect.any(String),
  });
}

describe("generated requests", () => {
  it(`/send-otp: ${RUNS_PER_ENDPOINT} requests, no 5xx, only documented answers`, async () => {
    await fc.assert(
      fc.asyncProperty(
        body({ phone: anyValue, turnstile_token: anyValue }),
        contentType,
        fc.ipV4(),
        async (payload, type, ip) => {
          const res = await call("/send-otp", payload, type, ip);
          expectDocumented(
            "/send-otp",
            res,
            (b) => b.message === "OTP sent successfully" && typeof b.phone === "string" && /^\+\d{8,15}$/.test(b.phone),
          );
        },
      ),
      {
        numRuns: RUNS_PER_ENDPOINT,
        seed: SEED,
        // Every stage is reached whatever the seed: a real send, a refused number, refused input, a wrong type.
        examples: [
          [{ phone: "+919876543210" }, "application/json", "198.51.100.1"],
          [{ phone: "12345" }, "application/json", "198.51.100.2"],
          [{ phone: 42 }, "application/json", "198.51.100.3"],
          [{ phone: "+919876543211" }, "text/plain", "198.51.100.4"],
        ],
      },
    );
    // The generator reaches every stage: refused input, refused numbers and real sends.
    expect([...seen.get("/send-otp")!]).toEqual(
      expect.arrayContaining(["200", "invalid_request", "invalid_phone", "unsupported_media_type"]),
    );
  });

  it(`/verify-otp: ${RUNS_PER_ENDPOINT} requests, no 5xx, only documented answers`, async () => {
    const idLike = fc.oneof(
      fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) =>
        btoa(String.fromCharCode(...b))
          .replace(/\+/g, "-")
          .replace(/\//g, "_")
          .replace(/=+$/, ""),
      ),
      fc.string({ maxLength: 80 }),
      fc.integer(),
    );
    const otpLike = fc.oneof(
      digits(6),
      digits(4),
      fc.string({ maxLength: 12 }),
      unicodeDigits,
      fc.integer(),
      fc.string({ minLength: 1000, maxLength: 5000 }),
    );
    await fc.assert(
      fc.asyncProperty(
        body({ phone: anyValue, otp: otpLike, verification_id: idLike }),
        contentType,
        fc.ipV4(),
        async (payload, type, ip) => {
          const res = await call("/verify-otp", payload, type, ip);
          expectDocumented("/verify-otp", res, (b) => b.status === "success" && typeof b.access_token === "string");
        },
      ),
      {
        numRuns: RUNS_PER_ENDPOINT,
        seed: SEED,
        examples: [
          [
            { phone: "+919876543210", otp: "123456", verification_id: "AAAAAAAAAAAAAAAAAAAAAA" },
            "application/json",
            "198.51.100.1",
          ],
          [
            { phone: "12345", otp: "123456", verification_id: "AAAAAAAAAAAAAAAAAAAAAA" },
            "application/json",
            "198.51.100.2",
          ],
          [{ phone: "+919876543210", otp: "123456" }, "application/json", "198.51.100.3"],
        ],
      },
    );
    expect([...seen.get("/verify-otp")!]).toEqual(
      expect.arrayContaining(["invalid_request", "invalid_phone", "otp_not_found"]),
    );
  });
});
