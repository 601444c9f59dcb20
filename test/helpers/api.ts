import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { parsePhoneNumberFromString } from "libphonenumber-js/mobile";
import app from "../../src/index";
import { expectDocumented } from "./openapi-conformance";

export const BASE = "http://localhost";

const used = new Set<string>();
/** A fresh valid Indian mobile number for each test, so per-number limits never leak between tests. */
export function uniquePhone(): string {
  for (;;) {
    const digits = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => String(b % 10)).join("");
    const e164 = `+9198${digits}`;
    if (!used.has(e164) && parsePhoneNumberFromString(e164)?.isValid()) {
      used.add(e164);
      return e164;
    }
  }
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

const verificationIds = new Map<string, string>();
/** The verification_id of the latest code /send-otp issued to `phone` (E.164) in this test file. */
export function lastVerificationId(phone: string): string {
  const id = verificationIds.get(phone);
  if (id === undefined) throw new Error(`no code was sent to ${phone}`);
  return id;
}

/** Reads an answer, and checks it against the OpenAPI description (openapi-conformance.ts). */
async function read(request: Request, res: Response): Promise<ApiResponse> {
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  const answer = { status: res.status, headers: res.headers, body };
  expectDocumented(request, answer);
  if (typeof body.verification_id === "string" && typeof body.phone === "string") {
    verificationIds.set(body.phone, body.verification_id);
  }
  return answer;
}

/** POST JSON through the Worker's own fetch handler (exports.default), as a client would. */
export async function post(path: string, body: unknown, init: RequestInit = {}): Promise<ApiResponse> {
  const request = new Request(`${BASE}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...init,
  });
  return read(request, await exports.default.fetch(request.clone()));
}

export async function get(path: string, init: RequestInit = {}): Promise<ApiResponse> {
  const request = new Request(`${BASE}${path}`, init);
  return read(request, await exports.default.fetch(request.clone()));
}

/**
 * Sends a request to the same app with other settings: calls its fetch handler with the test
 * environment plus `overrides` (the settings cache is per environment object,
 * so each call gets fresh settings and fresh gateways).
 */
export async function callWith(
  overrides: Record<string, unknown>,
  path: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<ApiResponse> {
  return withEnv({ ...env, ...overrides } as Env, path, init);
}

/** The test environment plus `overrides`, as one object: calls with it share settings and gateways (circuit breakers). */
export const envWith = (overrides: Record<string, unknown>): Env => ({ ...env, ...overrides }) as Env;

/** Calls the app's fetch handler with this environment object. */
export async function withEnv(
  environment: Env,
  path: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<ApiResponse> {
  const { json, headers, ...rest } = init;
  const merged = new Headers(headers);
  if (json !== undefined && !merged.has("content-type")) merged.set("content-type", "application/json");
  const request = new Request(`${BASE}${path}`, {
    ...(json === undefined ? {} : { method: "POST", body: JSON.stringify(json) }),
    ...rest,
    headers: merged,
  });
  const ctx = createExecutionContext();
  const res = await app.fetch(request.clone(), environment, ctx);
  await waitOnExecutionContext(ctx);
  return read(request, res);
}

export const sendOtp = (phone: string) => post("/send-otp", { phone });
/** Verifies with the verification_id of the latest code sent to `phone`, unless one is given. */
export const verifyOtp = (phone: string, otp: string, verificationId: string = lastVerificationId(phone)) =>
  post("/verify-otp", { phone, otp, verification_id: verificationId });
