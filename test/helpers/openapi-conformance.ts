import { expect } from "vitest";
import { OPERATIONS } from "../../src/http/openapi/operations";
import { problemDocument } from "../../src/http/schemas/api-schemas";
import { ERROR_CATALOG, type ErrorCode, type ErrorInfo } from "../../src/kernel/errors/error-catalog";

/**
 * Checks one answer of the app against its own OpenAPI description
 * (src/http/openapi/operations.ts, from which /openapi.json is built): the status
 * is documented for the operation, a success body parses with the documented
 * schema, and an error is a problem document whose code is documented for
 * this operation at this status. The test helpers (api.ts) run this on every
 * answer, so every test doubles as a check that the description has not drifted.
 */
export function expectDocumented(request: Request, res: { status: number; headers: Headers; body: unknown }): void {
  const method = request.method.toLowerCase();
  if (method === "options" || method === "head") return; // CORS preflights and HEAD are not operations
  const path = new URL(request.url).pathname;
  const where = `${request.method} ${path} → ${res.status}`;
  const op = OPERATIONS.find((o) => o.method === method && pathMatches(o.path, path));
  const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();

  if (op && res.status === op.success.status) {
    if (op.success.status === 204) {
      expect(res.headers.get("content-type"), `${where}: no content`).toBeNull();
      return;
    }
    expect(type, `${where}: content type`).toBe(op.success.contentType);
    if (op.success.schema) {
      const parsed = op.success.schema.safeParse(res.body);
      expect(parsed.success ? [] : parsed.error.issues, `${where}: body matches the documented schema`).toEqual([]);
    }
    return;
  }
  if (op?.htmlError && res.status === 500 && type === "text/html") return;
  if (op?.errorBody) {
    // A hook's errors are in its caller's shape, at the statuses of its documented codes.
    expect(type, `${where}: content type`).toBe("application/json");
    const parsed = op.errorBody.safeParse(res.body);
    expect(parsed.success ? [] : parsed.error.issues, `${where}: the hook's error shape`).toEqual([]);
    const statuses = [...op.errors, "internal_error" as const].map((code) => ERROR_CATALOG[code].status);
    expect(statuses, `${where}: a documented status`).toContain(res.status);
    return;
  }

  expect(type, `${where}: an error is problem+json`).toBe("application/problem+json");
  const parsed = problemDocument.safeParse(res.body);
  expect(parsed.success ? [] : parsed.error.issues, `${where}: a problem document`).toEqual([]);
  const code = (res.body as { code: ErrorCode }).code;
  const documented: readonly ErrorCode[] = op ? [...op.errors, "internal_error"] : ["not_found"];
  expect(
    documented,
    `${where}: code ${code} is documented for ${op ? `${op.method} ${op.path}` : "unknown routes"}`,
  ).toContain(code);
  expect(ERROR_CATALOG[code].status, `${where}: status of ${code}`).toBe(res.status);
  const info: ErrorInfo = ERROR_CATALOG[code];
  const locked =
    code === "too_many_attempts" &&
    /Too many wrong codes for this number/.test(String((res.body as { detail?: unknown }).detail));
  if (code === "invalid_token") {
    expect(res.headers.get("www-authenticate"), `${where}: a Bearer challenge with invalid_token`).toMatch(/^Bearer\b/);
  }
  if (info.retryAfter === "always" || locked) {
    expect(res.headers.get("retry-after"), `${where}: Retry-After with ${code}`).toMatch(/^[1-9][0-9]*$/);
  }
}

/** `/sessions/{id}` matches `/sessions/abc`; other paths match exactly. */
function pathMatches(template: string, path: string): boolean {
  if (!template.includes("{")) return template === path;
  const pattern = template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{[^}]+\\?\}/g, "[^/]+");
  return new RegExp(`^${pattern}$`).test(path);
}
