import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { InternalError, InvalidRequestError, InvalidTokenError, ServiceError } from "../../kernel/errors/service-error";
import { describeError, log } from "../../kernel/log/log";
import type { AppEnv } from "./app-env";

export const PROBLEM_TYPE_BASE = "urn:phone-otp:problem:";

/**
 * The one place where errors become responses: RFC 9457 problem+json with a
 * stable `code`. Unknown errors become a generic 500 whose details stay in
 * the log (message and name only; no stack or request data on the wire).
 */
export function onError(err: Error, c: Context<AppEnv>): Response {
  const problem = toServiceError(err);
  if (problem.status >= 500) {
    const cause = problem === err ? err.cause : err;
    log("request.error", {
      request_id: c.get("requestId"),
      code: problem.code,
      error: err.name,
      reason: cause === undefined ? undefined : describeError(cause),
    });
  }
  return problemResponse(problem, c.get("requestId"));
}

export function problemResponse(problem: ServiceError, requestId?: string): Response {
  const body = {
    type: `${PROBLEM_TYPE_BASE}${problem.code}`,
    title: problem.title,
    status: problem.status,
    detail: problem.detail,
    code: problem.code,
    ...problem.extensions,
    ...(requestId ? { request_id: requestId } : {}),
  };
  const headers = new Headers({ "content-type": "application/problem+json", "cache-control": "no-store" });
  if (problem.retryAfter !== undefined) headers.set("retry-after", String(problem.retryAfter));
  if (problem instanceof InvalidTokenError) {
    // No credentials at all: a bare challenge, no error code (RFC 6750 §3.1).
    headers.set("www-authenticate", problem.credentialsMissing ? "Bearer" : 'Bearer error="invalid_token"');
  }
  if (problem.code === "admin_unauthorized") headers.set("www-authenticate", 'Bearer realm="admin"');
  return new Response(JSON.stringify(body), { status: problem.status, headers });
}

function toServiceError(err: Error): ServiceError {
  if (err instanceof ServiceError) return err;
  if (err instanceof HTTPException && err.status < 500) {
    // Hono's own 4xx. Bodies that are not JSON never get here: jsonBody() refuses them first.
    return new InvalidRequestError("The request could not be read.");
  }
  return new InternalError(
    "Something went wrong on our side. Try again; if it keeps happening, report the request_id.",
    {
      cause: err,
    },
  );
}
