import { isProblem, PhoneOtpError, retryAfterSeconds } from "./errors.js";
import type { ROUTES } from "./wire-types.js";

/** What the client needs of an answer: the global Response has it. */
export interface ResponseLike {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** The fetch the client calls (the global fetch by default; browsers, React Native and Node 20+ have one). */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
) => Promise<ResponseLike>;

type Route = (typeof ROUTES)[keyof typeof ROUTES];

export interface CallOptions {
  body?: unknown;
  bearer?: string;
  /** The `{id}` of the path. */
  id?: string;
}

/** Calls one route; resolves to the JSON answer (undefined for 204), or throws PhoneOtpError. */
export function caller(baseUrl: string, fetchFn: FetchLike) {
  const base = baseUrl.replace(/\/+$/, "");
  return async function call<T>(route: Route, options: CallOptions = {}): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json, application/problem+json" };
    if (options.body !== undefined) headers["content-type"] = "application/json";
    if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
    const path = route.path.replace("{id}", encodeURIComponent(options.id ?? ""));
    let res: ResponseLike;
    let text: string;
    try {
      res = await fetchFn(`${base}${path}`, {
        method: route.method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
      text = await res.text();
    } catch (cause) {
      throw new PhoneOtpError({
        code: "network_error",
        status: 0,
        detail: "The sign-in service could not be reached. Check the connection and try again.",
        cause,
      });
    }
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (res.ok && (res.status === 204 || (body !== null && typeof body === "object"))) return body as T;
    const retryAfter = retryAfterSeconds(res.headers.get("retry-after"));
    if (!res.ok && isProblem(body)) {
      throw new PhoneOtpError({
        code: body.code,
        status: res.status,
        detail: body.detail,
        retryAfter,
        attemptsLeft: body.attempts_left,
        requestId: body.request_id ?? res.headers.get("x-request-id") ?? undefined,
        problem: body,
      });
    }
    throw new PhoneOtpError({
      code: "unexpected_response",
      status: res.status,
      detail: `The sign-in service answered ${res.status} with no problem document.`,
      retryAfter,
      requestId: res.headers.get("x-request-id") ?? undefined,
    });
  };
}
