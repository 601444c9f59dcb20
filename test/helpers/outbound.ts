import { vi } from "vitest";

/**
 * The one place where outbound HTTP is mocked for the worker tests. The app,
 * its Durable Objects and these tests share one isolate, so replacing
 * globalThis.fetch here intercepts the app's calls. Each fake registers the
 * base URL it answers; a request anywhere else fails the test.
 */
type Handler = (request: Request) => Promise<Response>;

const routes = new Map<string, Handler>();

export function routeOutbound(baseUrl: string, handler: Handler): void {
  if (!vi.isMockFunction(globalThis.fetch)) {
    routes.clear();
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const request = new Request(input as RequestInfo, init as RequestInit);
      for (const [base, handle] of routes) if (request.url.startsWith(base)) return handle(request);
      throw new Error(`unexpected outbound request to ${request.url}`);
    });
  }
  routes.set(baseUrl, handler);
}

/** What a fake gateway answers: a status and JSON body, a lost connection, or nothing until the caller gives up. */
export type GatewayReply =
  | {
      status: number;
      body: string /** Answer only after this many ms (the edge-latency simulation). */;
      delayMs?: number;
    }
  | { network: true }
  | { hang: true };

/** Shared by the fakes: a reply, a lost connection, or no answer until the caller gives up. */
export function answer(reply: GatewayReply, request: Request): Promise<Response> {
  if ("network" in reply) return Promise.reject(new TypeError("Network connection lost."));
  if ("hang" in reply) {
    return new Promise<Response>((_, reject) => {
      request.signal.addEventListener("abort", () => reject(request.signal.reason));
    });
  }
  const response = () =>
    new Response(reply.body, { status: reply.status, headers: { "content-type": "application/json" } });
  if (reply.delayMs) return new Promise((resolve) => setTimeout(() => resolve(response()), reply.delayMs));
  return Promise.resolve(response());
}

/**
 * An accepted answer (`accepted` field equal to `value`) with a fresh message id in `idField`, recorded in `ids`,
 * so each send's delivery reports name that send alone; other answers as they are.
 */
export function withFreshId(body: string, idField: string, accepted: string, value: unknown, ids: string[]): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return body;
  }
  if (typeof parsed !== "object" || parsed === null || (parsed as Record<string, unknown>)[accepted] !== value) {
    return body;
  }
  const id = `${String((parsed as Record<string, unknown>)[idField] ?? "id")}-${crypto.randomUUID().slice(0, 8)}`;
  ids.push(id);
  return JSON.stringify({ ...parsed, [idField]: id });
}
