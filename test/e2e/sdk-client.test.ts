import { describe, expect, it } from "vitest";
import { createPhoneOtpClient, type FetchLike, memoryStorage, PhoneOtpError } from "../../src/client";

/**
 * Unit tests of the client SDK in Node, with a fake fetch: single-flight
 * refresh, PhoneOtpError's fields, storage. test/worker/sdk-client.test.ts runs
 * the client against the real app.
 */
interface Seen {
  method: string;
  path: string;
  body: Record<string, unknown> | undefined;
  authorization: string | undefined;
}

type Answer = { status: number; body?: unknown; headers?: Record<string, string>; raw?: string };

/** A fake service: `route` answers each request; every request is recorded. */
function fakeService(route: (seen: Seen) => Answer | Promise<Answer>) {
  const seen: Seen[] = [];
  const fetch: FetchLike = async (url, init) => {
    const request: Seen = {
      method: init.method,
      path: new URL(url).pathname,
      body: init.body === undefined ? undefined : JSON.parse(init.body),
      authorization: init.headers.authorization,
    };
    seen.push(request);
    const answer = await route(request);
    const text = answer.raw ?? (answer.body === undefined ? "" : JSON.stringify(answer.body));
    return new Response(answer.status === 204 ? null : text, { status: answer.status, headers: answer.headers });
  };
  return { seen, fetch };
}

const problem = (status: number, code: string, extra: Record<string, unknown> = {}) => ({
  status,
  headers: { "content-type": "application/problem+json", ...(extra.headers as Record<string, string>) },
  body: {
    type: `urn:phone-otp:problem:${code}`,
    title: code,
    status,
    detail: `detail of ${code}`,
    code,
    ...extra.body!,
  },
});

const tokens = (n: number, expiresIn = 900) => ({
  access_token: `at${n}`,
  token_type: "Bearer",
  expires_in: expiresIn,
  refresh_token: `rt${n}`,
  refresh_expires_in: 2_592_000,
});

const verified = (n: number, expiresIn?: number) => ({
  status: 200,
  body: { message: "OTP verified successfully", status: "success", ...tokens(n, expiresIn) },
});

const sent = {
  status: 200,
  body: {
    message: "OTP sent successfully",
    phone: "+919876543210",
    verification_id: "vid-1",
    expires_in: 300,
    resend_after: 30,
    channel: "sms",
  },
};

/** A promise and its resolve, to hold a fake answer until the test lets it go. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("createPhoneOtpClient with a fake fetch", () => {
  it("maps requests to snake_case and answers to camelCase, and verifies with the last send's id", async () => {
    const service = fakeService(({ path }) => (path === "/send-otp" ? sent : verified(1)));
    const client = createPhoneOtpClient({ baseUrl: "https://otp.example.com/", fetch: service.fetch });
    expect(await client.sendOtp({ phone: "98765 43210", channel: "voice", turnstileToken: "tt" })).toEqual({
      phone: "+919876543210",
      verificationId: "vid-1",
      expiresIn: 300,
      resendAfter: 30,
      channel: "sms",
    });
    expect(await client.verifyOtp({ phone: "98765 43210", otp: "123456" })).toEqual({
      accessToken: "at1",
      tokenType: "Bearer",
      expiresIn: 900,
      refreshToken: "rt1",
      refreshExpiresIn: 2_592_000,
    });
    expect(service.seen.map(({ method, path, body }) => ({ method, path, body }))).toEqual([
      { method: "POST", path: "/send-otp", body: { phone: "98765 43210", channel: "voice", turnstile_token: "tt" } },
      { method: "POST", path: "/verify-otp", body: { phone: "98765 43210", otp: "123456", verification_id: "vid-1" } },
    ]);
    expect(await client.accessToken()).toBe("at1");
  });

  it("concurrent callers share one refresh: the rotating refresh token is presented once", async () => {
    const gate = deferred<void>();
    let refreshes = 0;
    const service = fakeService(async ({ path }) => {
      if (path === "/verify-otp") return verified(1, 20); // 20 s left: inside the 30 s margin
      refreshes += 1;
      await gate.promise;
      return { status: 200, body: tokens(2) };
    });
    const client = createPhoneOtpClient({ baseUrl: "https://otp.example.com", fetch: service.fetch });
    await client.verifyOtp({ phone: "+919876543210", otp: "123456", verificationId: "v" });
    const waiting = Promise.all([client.accessToken(), client.accessToken(), client.refresh(), client.accessToken()]);
    await new Promise((r) => setTimeout(r, 10));
    gate.resolve();
    const [a, b, r, c] = await waiting;
    expect(refreshes).toBe(1);
    expect(service.seen.filter((s) => s.path === "/token/refresh").map((s) => s.body)).toEqual([
      { refresh_token: "rt1" },
    ]);
    expect([a, b, c]).toEqual(["at2", "at2", "at2"]);
    expect(r).toMatchObject({ accessToken: "at2", refreshToken: "rt2" });
    // Fresh now (900 s): answered from storage.
    expect(await client.accessToken()).toBe("at2");
    expect(refreshes).toBe(1);
  });

  it("PhoneOtpError carries code, status, detail, retryAfter (seconds or an HTTP date), attemptsLeft and requestId", async () => {
    const answers: Answer[] = [
      problem(429, "rate_limited", { headers: { "retry-after": "42", "x-request-id": "req-1" } }),
      problem(503, "unavailable", { headers: { "retry-after": new Date(Date.now() + 90_000).toUTCString() } }),
      problem(400, "otp_invalid", { body: { attempts_left: 2, request_id: "req-2" } }),
      { status: 502, raw: "<html>Bad gateway</html>", headers: { "content-type": "text/html" } },
    ];
    const service = fakeService(() => answers.shift()!);
    const client = createPhoneOtpClient({ baseUrl: "https://otp.example.com", fetch: service.fetch });
    const fail = (p: Promise<unknown>) =>
      p.then(
        () => expect.unreachable(),
        (e: unknown) => e as PhoneOtpError,
      );

    const limited = await fail(client.sendOtp({ phone: "+919876543210" }));
    expect(limited).toBeInstanceOf(PhoneOtpError);
    expect(limited).toBeInstanceOf(Error);
    expect(limited).toMatchObject({
      name: "PhoneOtpError",
      code: "rate_limited",
      status: 429,
      detail: "detail of rate_limited",
      message: "detail of rate_limited",
      retryAfter: 42,
      requestId: "req-1",
    });
    expect(limited.problem?.type).toBe("urn:phone-otp:problem:rate_limited");

    const unavailable = await fail(client.sendOtp({ phone: "+919876543210" }));
    expect(unavailable.retryAfter).toBeGreaterThanOrEqual(88);
    expect(unavailable.retryAfter).toBeLessThanOrEqual(90);

    const invalid = await fail(client.verifyOtp({ phone: "+919876543210", otp: "000000", verificationId: "v" }));
    expect(invalid).toMatchObject({ code: "otp_invalid", status: 400, attemptsLeft: 2, requestId: "req-2" });
    expect(invalid.retryAfter).toBeUndefined();

    const proxy = await fail(client.sendOtp({ phone: "+919876543210" }));
    expect(proxy).toMatchObject({ code: "unexpected_response", status: 502, problem: undefined });

    const offline = createPhoneOtpClient({
      baseUrl: "https://otp.example.com",
      fetch: () => Promise.reject(new TypeError("fetch failed")),
    });
    const network = await fail(offline.sendOtp({ phone: "+919876543210" }));
    expect(network).toMatchObject({ code: "network_error", status: 0 });
    expect(network.cause).toBeInstanceOf(TypeError);
  });

  it("a refused refresh token signs the client out: accessToken() is null, and the stored tokens are gone", async () => {
    const storage = memoryStorage();
    const service = fakeService(({ path }) =>
      path === "/verify-otp" ? verified(1, 5) : problem(401, "invalid_refresh_token"),
    );
    const client = createPhoneOtpClient({ baseUrl: "https://otp.example.com", fetch: service.fetch, storage });
    await client.verifyOtp({ phone: "+919876543210", otp: "123456", verificationId: "v" });
    expect(await storage.get("phone-otp:session")).toEqual(expect.any(String));
    expect(await client.accessToken()).toBeNull();
    expect(await storage.get("phone-otp:session")).toBeUndefined();
    await expect(client.listSessions()).rejects.toMatchObject({ code: "signed_out" });
  });

  it("a 503 during refresh is thrown (not signed out), and the session is kept for the next try", async () => {
    let fail = true;
    const service = fakeService(({ path }) => {
      if (path === "/verify-otp") return verified(1, 5);
      if (fail) return problem(503, "unavailable", { headers: { "retry-after": "3" } });
      return { status: 200, body: tokens(2) };
    });
    const client = createPhoneOtpClient({ baseUrl: "https://otp.example.com", fetch: service.fetch });
    await client.verifyOtp({ phone: "+919876543210", otp: "123456", verificationId: "v" });
    await expect(client.accessToken()).rejects.toMatchObject({ code: "unavailable", retryAfter: 3 });
    fail = false;
    expect(await client.accessToken()).toBe("at2");
  });

  it("bearer calls send the access token; an invalid_token answer gets one refresh and one retry", async () => {
    let sessionsCalls = 0;
    const service = fakeService(({ path, authorization }) => {
      if (path === "/verify-otp") return verified(1);
      if (path === "/token/refresh") return { status: 200, body: tokens(2) };
      if (path === "/sessions") {
        sessionsCalls += 1;
        if (authorization === "Bearer at1") return problem(401, "invalid_token");
        return {
          status: 200,
          body: {
            sessions: [
              { id: "s1", created_at: "c", last_used_at: "l", expires_at: "e", current: true, client: "Chrome" },
            ],
          },
        };
      }
      if (path === "/sessions/a%2Fb") return { status: 204 };
      return { status: 204 };
    });
    const client = createPhoneOtpClient({ baseUrl: "https://otp.example.com", fetch: service.fetch });
    await client.verifyOtp({ phone: "+919876543210", otp: "123456", verificationId: "v" });
    expect(await client.listSessions()).toEqual([
      { id: "s1", createdAt: "c", lastUsedAt: "l", expiresAt: "e", current: true, client: "Chrome" },
    ]);
    expect(sessionsCalls).toBe(2);
    await client.endSession("a/b");
    expect(service.seen.at(-1)).toMatchObject({
      method: "DELETE",
      path: "/sessions/a%2Fb",
      authorization: "Bearer at2",
    });
    await client.logoutAll();
    expect(service.seen.at(-1)).toMatchObject({ method: "POST", path: "/logout-all", authorization: "Bearer at2" });
    expect(await client.accessToken()).toBeNull();
  });

  it("storage: get/set/remove or getItem/setItem/removeItem, sync or async; unreadable records count as signed out", async () => {
    const items = new Map<string, string>();
    const itemStorage = {
      getItem: async (key: string) => items.get(key) ?? null,
      setItem: async (key: string, value: string) => void items.set(key, value),
      removeItem: async (key: string) => void items.delete(key),
    };
    const service = fakeService(({ path }) =>
      path === "/send-otp" ? sent : path === "/logout" ? { status: 204 } : verified(1),
    );
    const client = createPhoneOtpClient({
      baseUrl: "https://otp.example.com",
      fetch: service.fetch,
      storage: itemStorage,
      storageKey: "myapp",
    });
    await client.sendOtp({ phone: "+919876543210" });
    expect(JSON.parse(items.get("myapp:verification")!)).toEqual({ phone: "+919876543210", verificationId: "vid-1" });
    // A new client over the same storage (the app restarted) verifies with the stored id.
    const restarted = createPhoneOtpClient({
      baseUrl: "https://otp.example.com",
      fetch: service.fetch,
      storage: itemStorage,
      storageKey: "myapp",
    });
    await restarted.verifyOtp({ phone: "+919876543210", otp: "123456" });
    expect(service.seen.at(-1)?.body).toMatchObject({ verification_id: "vid-1" });
    expect([...items.keys()]).toEqual(["myapp:session"]);
    expect(await client.accessToken()).toBe("at1");

    await restarted.logout();
    expect(service.seen.at(-1)).toMatchObject({ path: "/logout", body: { refresh_token: "rt1" } });
    expect(items.size).toBe(0);
    expect(await client.accessToken()).toBeNull();

    items.set("myapp:session", "{not json");
    expect(await client.accessToken()).toBeNull();
    items.set("myapp:session", JSON.stringify({ accessToken: 1 }));
    expect(await client.accessToken()).toBeNull();
  });

  it("verificationStatus() needs a send first, or the phone and id", async () => {
    const service = fakeService(() => ({
      status: 200,
      body: {
        status: "delivered",
        channel: "sms",
        messages: [{ channel: "sms", status: "delivered", sent_at: "s", delivered_at: "d" }],
        expires_in: 200,
      },
    }));
    const client = createPhoneOtpClient({ baseUrl: "https://otp.example.com", fetch: service.fetch });
    await expect(client.verificationStatus()).rejects.toThrow(TypeError);
    expect(await client.verificationStatus({ phone: "+919876543210", verificationId: "v" })).toEqual({
      status: "delivered",
      channel: "sms",
      messages: [{ channel: "sms", status: "delivered", sentAt: "s", deliveredAt: "d" }],
      expiresIn: 200,
    });
    expect(service.seen[0]?.body).toEqual({ phone: "+919876543210", verification_id: "v" });
  });
});
