import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { buildOpenApiDocument } from "../../src/http/openapi/openapi-document";
import { sendOtpBody, verifyOtpBody } from "../../src/http/schemas/api-schemas";

/**
 * The document GET /openapi.json serves (test/worker/openapi.test.ts checks
 * that it serves exactly this) validates against the official OpenAPI 3.1
 * schema, and its request-body JSON Schemas accept and refuse the same bodies
 * as the zod schemas the routes validate with.
 */
type Json = Record<string, any>;
const doc = buildOpenApiDocument() as Json;

describe("OpenAPI document", () => {
  it("validates as OpenAPI 3.1 with every $ref resolved", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
    expect(JSON.stringify(validator.resolveRefs())).not.toContain('"$ref"');
  });

  const bodies: unknown[] = [
    { phone: "+919876543210" },
    { phone: "98765 43210", turnstile_token: "x" },
    { phone: "" },
    { phone: "9".repeat(65) },
    { phone: 9876543210 },
    { phone: "+919876543210", extra: 1 },
    { phone: "+919876543210", otp: "123456" },
    { phone: "+919876543210", otp: "12345a" },
    { phone: "+919876543210", otp: "123" },
    { phone: "+919876543210", otp: "12345678901" },
    { otp: "123456" },
    {},
    [],
    null,
    "phone",
  ];

  it.each([
    ["/send-otp", sendOtpBody],
    ["/verify-otp", verifyOtpBody],
  ] as const)("%s: the documented body schema agrees with the route's zod schema", (path, zodSchema) => {
    const schema = doc.paths[path].post.requestBody.content["application/json"].schema;
    const validate = new Ajv2020({ strict: false }).compile(schema);
    const verdicts = bodies.map((body) => ({
      body,
      documented: validate(body),
      route: zodSchema.safeParse(body).success,
    }));
    expect(verdicts.filter((v) => v.documented !== v.route)).toEqual([]);
    expect(verdicts.some((v) => v.route)).toBe(true);
    expect(verdicts.some((v) => !v.route)).toBe(true);
  });
});
