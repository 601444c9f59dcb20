import type { Problem, ProblemCode } from "./wire-types.js";

/**
 * A code of PhoneOtpError: the service's stable problem codes, plus three the
 * client makes itself: `network_error` (the request got no answer),
 * `unexpected_response` (an answer that is not this service's JSON, say a
 * proxy's error page) and `signed_out` (the call needs a session and none is stored).
 */
export type PhoneOtpErrorCode = ProblemCode | "network_error" | "unexpected_response" | "signed_out";

export interface PhoneOtpErrorInit {
  code: PhoneOtpErrorCode;
  status: number;
  detail: string;
  retryAfter?: number | undefined;
  attemptsLeft?: number | undefined;
  requestId?: string | undefined;
  problem?: Problem | undefined;
  cause?: unknown;
}

/** Thrown by every client call the service refuses, with the problem's fields. */
export class PhoneOtpError extends Error {
  /** The problem's stable `code` (or the client's own, see PhoneOtpErrorCode). */
  readonly code: PhoneOtpErrorCode;
  /** The HTTP status; 0 when no answer came. */
  readonly status: number;
  /** A sentence for people (the problem's `detail`). */
  readonly detail: string;
  /** Seconds to wait before trying again (`Retry-After`), on 429 and 503 answers. */
  readonly retryAfter: number | undefined;
  /** With `otp_invalid`: the tries the code has left. */
  readonly attemptsLeft: number | undefined;
  /** The service's id of the request, for its log. */
  readonly requestId: string | undefined;
  /** The whole problem document, when the service answered one. */
  readonly problem: Problem | undefined;

  constructor(init: PhoneOtpErrorInit) {
    super(init.detail, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "PhoneOtpError";
    this.code = init.code;
    this.status = init.status;
    this.detail = init.detail;
    this.retryAfter = init.retryAfter;
    this.attemptsLeft = init.attemptsLeft;
    this.requestId = init.requestId;
    this.problem = init.problem;
  }
}

/** Whether a JSON body is one of this service's problem documents. */
export function isProblem(body: unknown): body is Problem {
  if (body === null || typeof body !== "object") return false;
  const { code, status, detail } = body as Record<string, unknown>;
  return typeof code === "string" && typeof status === "number" && typeof detail === "string";
}

/** Retry-After in seconds (delta-seconds or an HTTP date), or undefined. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

export function signedOut(): PhoneOtpError {
  return new PhoneOtpError({ code: "signed_out", status: 0, detail: "Not signed in: verify a code first." });
}

/** Errors after which the client holds no session: accessToken() answers null for them. */
export function meansSignedOut(err: unknown): boolean {
  return err instanceof PhoneOtpError && (err.code === "signed_out" || err.code === "invalid_refresh_token");
}
