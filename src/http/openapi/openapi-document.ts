import * as z from "zod/mini";
import { ERROR_CATALOG, type ErrorCode } from "../../kernel/errors/error-catalog";
import { PROBLEM_TYPE_BASE } from "../core/on-error";
import { problemDocument } from "../schemas/api-schemas";
import { OPERATIONS, type Operation } from "./operations";

type JsonObject = Record<string, unknown>;

const PROBLEM_REF = { $ref: "#/components/schemas/Problem" };

/** A zod schema as JSON Schema 2020-12 (the dialect of OpenAPI 3.1), without the $schema marker. */
function jsonSchema(schema: z.ZodMiniType, io: "input" | "output"): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as JsonObject;
  return rest;
}

/** One response per error status: a problem document whose `code` is one of this operation's codes at that status. */
function errorResponses(op: Operation): Record<string, JsonObject> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of [...op.errors, "internal_error" as const]) {
    const { status } = ERROR_CATALOG[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, JsonObject> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    const retry = codes.some((code) => "retryAfter" in ERROR_CATALOG[code]);
    const content: JsonObject = op.errorBody
      ? { "application/json": { schema: jsonSchema(op.errorBody, "output") } }
      : {
          "application/problem+json": {
            schema: { allOf: [PROBLEM_REF, { properties: { code: { enum: codes } } }] },
          },
        };
    if (status === 500 && op.htmlError) content["text/html"] = { schema: { type: "string" } };
    responses[String(status)] = {
      description:
        codes.map((code) => `\`${code}\`: ${ERROR_CATALOG[code].when}`).join("\n\n") +
        (status === 500 && op.htmlError ? `\n\ntext/html: ${op.htmlError}` : ""),
      ...(retry ? { headers: { "Retry-After": { $ref: "#/components/headers/RetryAfter" } } } : {}),
      content,
    };
  }
  return responses;
}

function operationObject(op: Operation): JsonObject {
  const success: JsonObject = op.success.contentType
    ? {
        description: op.success.description,
        content: {
          [op.success.contentType]: { schema: op.success.schema ? jsonSchema(op.success.schema, "output") : {} },
        },
      }
    : { description: op.success.description };
  const parameters = [
    ...Object.entries(op.params ?? {}).map(([name, description]) => ({
      name,
      in: "path",
      required: true,
      description,
      schema: { type: "string" },
    })),
    ...Object.entries(op.query ?? {}).map(([name, description]) => ({
      name,
      in: "query",
      required: false,
      description,
      schema: { type: "string" },
    })),
  ];
  return {
    operationId: op.operationId,
    summary: op.summary,
    description: op.description,
    tags: [op.tag],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(op.bearer ? { security: [{ bearerAuth: [] }] } : {}),
    ...(op.admin ? { security: [{ adminToken: [] }] } : {}),
    ...(op.body
      ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(op.body, "input") } } } }
      : {}),
    responses: { [String(op.success.status)]: success, ...errorResponses(op) },
  };
}

/** The OpenAPI 3.1 document for every route in OPERATIONS. */
export function buildOpenApiDocument(): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const op of OPERATIONS) paths[op.path] = { ...paths[op.path], [op.method]: operationObject(op) };
  return {
    openapi: "3.1.0",
    info: {
      title: "Phone OTP",
      version: "0.1.0",
      description:
        "Proves that a user owns a phone number: POST /send-otp texts a one-time code, POST /verify-otp checks it and " +
        "answers with a signed access token. Every error is application/problem+json (RFC 9457) with a stable `code`.",
    },
    tags: [
      { name: "OTP", description: "Send and verify one-time codes." },
      { name: "Sessions", description: "Refresh tokens that rotate, sign-out, and the list of sessions." },
      { name: "Tokens", description: "Keys to verify the access tokens." },
      { name: "Service", description: "Health and development helpers." },
      { name: "Webhooks", description: "What the SMS gateways call: their delivery reports." },
      { name: "Pages", description: "Pages for people, and this description." },
      { name: "Admin", description: "The operator's API and dashboard; only while ADMIN_TOKEN is set." },
    ],
    paths,
    components: {
      schemas: {
        Problem: {
          ...jsonSchema(problemDocument, "output"),
          description: `RFC 9457 problem details. \`type\` is ${PROBLEM_TYPE_BASE}<code>.`,
        },
      },
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "An access token from /verify-otp or /token/refresh.",
        },
        adminToken: {
          type: "http",
          scheme: "bearer",
          description: "The operator's ADMIN_TOKEN (at least 32 bytes, random: about 128 bits or more).",
        },
      },
      headers: {
        RetryAfter: { description: "Seconds to wait before trying again.", schema: { type: "integer", minimum: 1 } },
      },
    },
  };
}

let cached: string | undefined;

/** The document as JSON text, built once per isolate. */
export function openApiJson(): string {
  cached ??= JSON.stringify(buildOpenApiDocument());
  return cached;
}
