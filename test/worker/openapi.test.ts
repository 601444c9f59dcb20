import { describe, expect, it } from "vitest";
import { buildOpenApiDocument } from "../../src/http/openapi/openapi-document";
import { renderDocs } from "../../src/http/openapi/render-docs";
import app from "../../src/index";
import { ERROR_CODES } from "../../src/kernel/errors/error-catalog";
import { get } from "../helpers/api";

type Json = Record<string, any>;

const doc = buildOpenApiDocument() as Json;
const operations = Object.entries(doc.paths as Json).flatMap(([path, methods]) =>
  Object.entries(methods as Json).map(([method, op]) => ({ path, method, op: op as Json })),
);

describe("GET /openapi.json", () => {
  it("serves the document built from the route schemas, as JSON", async () => {
    const res = await get("/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.body).toEqual(JSON.parse(JSON.stringify(doc)));
    expect(doc.openapi).toBe("3.1.0");
  });

  it("describes exactly the app's routes", () => {
    const routes = new Set(
      app.routes
        .filter((r) => r.method !== "ALL")
        .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:(\w+)/g, "{$1}")}`),
    );
    expect(new Set(operations.map((o) => `${o.method} ${o.path}`))).toEqual(routes);
  });

  it("lists every error code of the catalog under some operation, each with its status", () => {
    const seen = new Set<string>();
    for (const { op } of operations) {
      for (const [status, response] of Object.entries(op.responses as Json)) {
        const schema = (response as Json).content?.["application/problem+json"]?.schema;
        if (!schema) continue;
        const codes: string[] = schema.allOf[1].properties.code.enum;
        for (const code of codes) seen.add(code);
        expect(Number(status)).toBeGreaterThanOrEqual(400);
      }
    }
    expect([...seen].sort()).toEqual([...ERROR_CODES].sort());
  });

  it("gives the request bodies as the validators see them: required fields, no unknown fields, the code's pattern", () => {
    const body = (path: string) => (doc.paths as Json)[path].post.requestBody.content["application/json"].schema;
    expect(body("/send-otp")).toMatchObject({
      type: "object",
      required: ["phone"],
      additionalProperties: false,
      properties: { phone: { type: "string", minLength: 1, maxLength: 64 }, turnstile_token: { type: "string" } },
    });
    expect(body("/token/refresh")).toMatchObject({
      required: ["refresh_token"],
      additionalProperties: false,
      properties: { refresh_token: { type: "string", minLength: 1 } },
    });
    expect(body("/verify-otp")).toMatchObject({
      required: ["phone", "otp"],
      additionalProperties: false,
      properties: { otp: { type: "string", pattern: "^[0-9]{4,10}$" } },
    });
  });

  it("documents Retry-After where the service sets it, and the success shapes", () => {
    const send = (doc.paths as Json)["/send-otp"].post.responses;
    expect(send["429"].headers["Retry-After"]).toBeDefined();
    expect(send["503"].headers["Retry-After"]).toBeDefined();
    expect(send["400"].headers).toBeUndefined();
    expect(send["200"].content["application/json"].schema.required).toEqual([
      "message",
      "phone",
      "verification_id",
      "expires_in",
      "resend_after",
      "channel",
    ]);
    const verify = (doc.paths as Json)["/verify-otp"].post.responses["200"].content["application/json"].schema;
    expect(verify.required).not.toContain("firebase_token");
    expect(Object.keys(verify.properties)).toContain("firebase_token");
  });
});

it("documents the session routes: Bearer security, the {id} path parameter, 204 without a body", () => {
  const paths = doc.paths as Json;
  expect(paths["/sessions"].get.security).toEqual([{ bearerAuth: [] }]);
  expect(paths["/logout-all"].post.security).toEqual([{ bearerAuth: [] }]);
  expect(paths["/token/refresh"].post.security).toBeUndefined();
  expect(paths["/sessions/{id}"].delete.parameters).toEqual([
    expect.objectContaining({ name: "id", in: "path", required: true }),
  ]);
  expect(paths["/sessions/{id}"].delete.responses["204"].content).toBeUndefined();
  const codes401 = (path: string, method: string) =>
    paths[path][method].responses["401"].content["application/problem+json"].schema.allOf[1].properties.code.enum;
  expect(codes401("/token/refresh", "post")).toEqual(["invalid_refresh_token"]);
  expect(codes401("/sessions", "get")).toEqual(["invalid_token"]);
  expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
});

describe("GET /docs", () => {
  it("renders every operation and error code in one page with no script and nothing from elsewhere", async () => {
    const res = await get("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'none'");
    const html = res.body.raw as string;
    for (const { path, op } of operations) {
      expect(html).toContain(`<code>${path}</code>`);
      expect(html).toContain(`id="${op.operationId}"`);
    }
    for (const code of ERROR_CODES) expect(html).toContain(`<code>${code}</code>:`);
    expect(html).not.toMatch(/<script|\bsrc=|href="(?:https?:)?\/\//i);
    expect(html).not.toMatch(/\sstyle=/);
  });

  it("renders `code` spans as <code> everywhere, never as literal backticks", async () => {
    const html = (await get("/docs")).body.raw as string;
    expect(html).not.toContain("`");
    // From the document's description, an operation's description and a field's description.
    expect(html).toContain("<code>code</code>");
    expect(html).toContain("<code>current</code>");
  });

  it("escapes HTML inside and outside code spans", async () => {
    const html = await renderDocs({
      openapi: "3.1.0",
      info: { title: "T", version: "1", description: "a `<b>x</b>` and <i>y</i>" },
      paths: {
        "/p": {
          get: {
            operationId: "op",
            summary: "s `<img src=x>`",
            description: "d <script>alert(1)</script> `&`",
            parameters: [{ name: "q", description: "`<u>`" }],
            responses: { "200": { description: "ok `<em>`" } },
          },
        },
      },
    });
    expect(html).toContain("<code>&lt;b&gt;x&lt;/b&gt;</code> and &lt;i&gt;y&lt;/i&gt;");
    expect(html).toContain("<code>&lt;img src=x&gt;</code>");
    expect(html).toContain("d &lt;script&gt;alert(1)&lt;/script&gt; <code>&amp;</code>");
    expect(html).toContain("<code>&lt;u&gt;</code>");
    expect(html).toContain("<code>&lt;em&gt;</code>");
    expect(html).not.toMatch(/<(b|i|img|script|u|em)[\s>]/);
  });
});
