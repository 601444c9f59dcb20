import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { buildOpenApiDocument } from "../../src/http/openapi/openapi-document";

/**
 * The client SDK's wire types (src/client/wire-types.ts) are generated from
 * the OpenAPI document the service serves, which is built from the routes'
 * own zod schemas: this test regenerates them and fails when the committed
 * file differs, so the client cannot drift from the routes.
 * `UPDATE_WIRE_TYPES=1 npx vitest run test/e2e/sdk-wire-types.test.ts` rewrites it.
 */
const FILE = fileURLToPath(new URL("../../src/client/wire-types.ts", import.meta.url).href);
const BIOME = fileURLToPath(new URL("../../node_modules/@biomejs/biome/bin/biome", import.meta.url).href);

/** The operations the client calls, by operationId. */
const CLIENT_OPERATIONS = [
  "sendOtp",
  "verifyOtp",
  "getVerificationStatus",
  "refreshToken",
  "logout",
  "logoutAll",
  "listSessions",
  "deleteSession",
] as const;

type Schema = Record<string, any>;

const pascal = (id: string) => id[0]!.toUpperCase() + id.slice(1);
const doc = (text: string | undefined, pad: string) => (text ? `${pad}/** ${text.replace(/\*\//g, "*\\/")} */\n` : "");

/** JSON Schema (the subset zod's toJSONSchema makes) as a TypeScript type. */
function tsType(schema: Schema, pad: string): string {
  if (schema.$ref) return String(schema.$ref).split("/").pop()!;
  if (schema.anyOf) return schema.anyOf.map((s: Schema) => tsType(s, pad)).join(" | ");
  if ("const" in schema) return JSON.stringify(schema.const);
  if (schema.enum) return schema.enum.map((v: unknown) => JSON.stringify(v)).join(" | ");
  switch (schema.type) {
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array": {
      const item = tsType(schema.items, pad);
      return /[|&]/.test(item) && !item.startsWith("{") ? `(${item})[]` : `${item}[]`;
    }
    case "object": {
      const required = new Set<string>(schema.required ?? []);
      const inner = `${pad}  `;
      const lines = Object.entries<Schema>(schema.properties ?? {}).map(
        ([name, prop]) =>
          `${doc(prop.description, inner)}${inner}${name}${required.has(name) ? "" : "?"}: ${tsType(prop, inner)};\n`,
      );
      if (schema.additionalProperties !== false) lines.push(`${inner}[key: string]: unknown;\n`);
      return `{\n${lines.join("")}${pad}}`;
    }
    default:
      throw new Error(`no TypeScript type for the schema ${JSON.stringify(schema)}`);
  }
}

/** The text of src/client/wire-types.ts, formatted as Biome formats the repository. */
function renderWireTypes(): string {
  const openapi = buildOpenApiDocument() as Schema;
  const out: string[] = [
    "/**",
    " * Generated from the service's OpenAPI document (GET /openapi.json, built from",
    " * the routes' zod schemas) by test/e2e/sdk-wire-types.test.ts, which fails when",
    " * this file differs from what it generates. Do not edit: run",
    " * `UPDATE_WIRE_TYPES=1 npx vitest run test/e2e/sdk-wire-types.test.ts`.",
    " * The wire is snake_case; the client maps it to camelCase (camel.ts).",
    " */",
    "",
  ];
  const routes: string[] = [];
  for (const id of CLIENT_OPERATIONS) {
    const found = Object.entries<Schema>(openapi.paths).flatMap(([path, ops]) =>
      Object.entries<Schema>(ops)
        .filter(([, op]) => op.operationId === id)
        .map(([method, op]) => ({ path, method, op })),
    );
    if (found.length !== 1) throw new Error(`operation ${id}: ${found.length} in the OpenAPI document`);
    const { path, method, op } = found[0]!;
    routes.push(`  ${id}: { method: "${method.toUpperCase()}", path: "${path}", bearer: ${Boolean(op.security)} },`);
    const body = op.requestBody?.content?.["application/json"]?.schema;
    if (body) out.push(`${doc(op.summary, "")}export interface ${pascal(id)}Body ${tsType(body, "")}`, "");
    const ok = op.responses["200"]?.content?.["application/json"]?.schema;
    if (ok)
      out.push(
        `${doc(op.responses["200"].description, "")}export interface ${pascal(id)}Response ${tsType(ok, "")}`,
        "",
      );
  }
  const problem = openapi.components.schemas.Problem as Schema;
  out.push(`${doc(problem.description, "")}export interface Problem ${tsType(problem, "")}`, "");
  out.push(
    "/** Every stable error `code` a problem answer can carry. */",
    'export type ProblemCode = Problem["code"];',
    "",
  );
  out.push("/** Each operation's method, path and whether it needs the access token. */");
  out.push(`export const ROUTES = {\n${routes.join("\n")}\n} as const;`, "");
  const raw = out.join("\n");
  return execFileSync(process.execPath, [BIOME, "format", `--stdin-file-path=${FILE}`], {
    input: raw,
    encoding: "utf8",
  });
}

describe("the client SDK's wire types", () => {
  it("are what the OpenAPI document generates (regenerate with UPDATE_WIRE_TYPES=1)", () => {
    const generated = renderWireTypes();
    if (process.env.UPDATE_WIRE_TYPES === "1") writeFileSync(FILE, generated);
    expect(readFileSync(FILE, "utf8"), "src/client/wire-types.ts is stale: run with UPDATE_WIRE_TYPES=1").toBe(
      generated,
    );
  });
});
