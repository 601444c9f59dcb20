import { exports } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it } from "vitest";
import { createPhoneOtpClient, type FetchLike, PhoneOtpError, type PhoneOtpStorage } from "../../src/client";
import { BASE, uniquePhone } from "../helpers/api";
import { advance, setUpWorkerTest } from "../helpers/setup";

/**
 * The client SDK (src/client/) against the real app in workerd: every call
 * goes through the Worker's own fetch handler, and the log of paths shows how
 * many refreshes the client made. The same client, built and installed from
 * the tarball, signs in against `wrangler dev` in test/e2e/sdk-package.test.ts;
 * test/e2e/sdk-client.test.ts has its unit tests with a fake fetch.
 */
const fast2sms = setUpWorkerTest();

function clientOf(storage?: PhoneOtpStorage) {
  const calls: string[] = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push(`${init.method} ${new URL(url).pathname}`);
    return exports.default.fetch(new Request(url, init));
  };
  return { client: createPhoneOtpClient({ baseUrl: `${BASE}/`, fetch, ...(storage ? { storage } : {}) }), calls };
}

async function signedIn(storage?: PhoneOtpStorage) {
  const { client, calls } = clientOf(storage);
  const phone = uniquePhone();
  const sent = await client.sendOtp({ phone });
  const verified = await client.verifyOtp({ phone, otp: fast2sms.lastCode() });
  return { client, calls, phone, sent, verified };
}

describe("phone-otp/client against the app", () => {
  it("signs in with the last send's verification id and answers camelCase results", async () => {
    const { client, phone, sent, verified } = await signedIn();
    expect(sent).toEqual({
      phone,
      verificationId: expect.stringMatching(/^[A-Za-z0-9_-]{38}$/),
      expiresIn: 300,
      resendAfter: 30,
      channel: "sms",
    });
    expect(verified).toMatchObject({ tokenType: "Bearer", expiresIn: 900, refreshExpiresIn: 2_592_000 });
    expect(await client.accessToken()).toBe(verified.accessToken);
    expect(decodeJwt(verified.accessToken).sub).toBe(phone);
    const sessions = await client.listSessions();
    expect(sessions).toEqual([
      {
        id: decodeJwt(verified.accessToken).sid,
        createdAt: expect.any(String),
        lastUsedAt: expect.any(String),
        expiresAt: expect.any(String),
        current: true,
        client: null,
      },
    ]);
  });

  it("reports where the last code's messages stand", async () => {
    const { client } = clientOf();
    const phone = uniquePhone();
    await client.sendOtp({ phone });
    expect(await client.verificationStatus()).toMatchObject({ status: "pending", channel: "sms", expiresIn: 300 });
  });

  it("refreshes once for many callers when the access token is about to expire", async () => {
    const { client, calls, verified } = await signedIn();
    advance(900_000 - 20_000); // 20 s left: inside the client's 30 s margin
    const tokens = await Promise.all([
      client.accessToken(),
      client.accessToken(),
      client.refresh(),
      client.accessToken(),
    ]);
    expect(calls.filter((c) => c === "POST /token/refresh")).toHaveLength(1);
    const fresh = tokens[0] as string;
    expect(fresh).not.toBe(verified.accessToken);
    expect(tokens).toEqual([fresh, fresh, expect.objectContaining({ accessToken: fresh }), fresh]);
    // A token with time left is answered from storage, with no request.
    expect(await client.accessToken()).toBe(fresh);
    expect(calls.filter((c) => c === "POST /token/refresh")).toHaveLength(1);
  });

  it("throws PhoneOtpError with the problem's code, status, detail and Retry-After", async () => {
    const { client } = clientOf();
    const phone = uniquePhone();
    await client.sendOtp({ phone });
    const wrong = fast2sms.lastCode().replace(/\d/g, (d) => String((Number(d) + 1) % 10));
    const invalid = await client.verifyOtp({ phone, otp: wrong }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(PhoneOtpError);
    expect(invalid).toMatchObject({ code: "otp_invalid", status: 400, attemptsLeft: 4, retryAfter: undefined });
    expect((invalid as PhoneOtpError).detail).toMatch(/4 tries left/);
    const limited = await client.sendOtp({ phone }).catch((e: unknown) => e);
    expect(limited).toMatchObject({ code: "rate_limited", status: 429, retryAfter: expect.any(Number) });
    expect((limited as PhoneOtpError).retryAfter).toBeGreaterThan(0);
    expect((limited as PhoneOtpError).requestId).toEqual(expect.any(String));
  });

  it("logout ends the session on the service: the old refresh token is refused, and accessToken() is null", async () => {
    const { client, verified } = await signedIn();
    await client.logout();
    expect(await client.accessToken()).toBeNull();
    await expect(client.refresh()).rejects.toMatchObject({ code: "signed_out" });
    const again = createPhoneOtpClient({
      baseUrl: BASE,
      fetch: (url, init) => exports.default.fetch(new Request(url, init)),
      storage: {
        get: (key) =>
          key.endsWith(":session")
            ? JSON.stringify({
                service: BASE,
                accessToken: "x",
                accessExpiresAt: 0,
                refreshToken: verified.refreshToken,
              })
            : null,
        set: () => undefined,
        remove: () => undefined,
      },
    });
    await expect(again.refresh()).rejects.toMatchObject({ code: "invalid_refresh_token", status: 401 });
  });

  it("logoutAll and endSession end sessions; a client whose session ended is signed out at its next refresh", async () => {
    const { client, phone } = await signedIn();
    const { client: other } = clientOf();
    advance(31_000); // past the resend cooldown
    await other.sendOtp({ phone });
    await other.verifyOtp({ phone, otp: fast2sms.lastCode() });
    const sessions = await client.listSessions();
    expect(sessions).toHaveLength(2);
    await client.endSession(sessions.find((s) => !s.current)!.id);
    await expect(other.refresh()).rejects.toMatchObject({ code: "invalid_refresh_token" });
    expect(await other.accessToken()).toBeNull();
    await client.logoutAll();
    expect(await client.accessToken()).toBeNull();
  });

  it("keeps its tokens in the storage given, async too, so a new client over it is still signed in", async () => {
    const items = new Map<string, string>();
    const storage: PhoneOtpStorage = {
      get: async (key) => items.get(key) ?? null,
      set: async (key, value) => void items.set(key, value),
      remove: async (key) => void items.delete(key),
    };
    const { verified } = await signedIn(storage);
    expect([...items.keys()]).toEqual(["phone-otp:session"]);
    const { client: restarted } = clientOf(storage);
    expect(await restarted.accessToken()).toBe(verified.accessToken);
    expect(await restarted.listSessions()).toHaveLength(1);
  });

  it("never presents one service's tokens to another service's client over the same storage and key", async () => {
    const items = new Map<string, string>();
    const storage: PhoneOtpStorage = {
      get: (key) => items.get(key),
      set: (key, value) => void items.set(key, value),
      remove: (key) => void items.delete(key),
    };
    const { verified } = await signedIn(storage);
    const seen: string[] = [];
    const other = createPhoneOtpClient({
      baseUrl: "https://otp.other.example",
      storage,
      fetch: async (url, init) => {
        seen.push(`${url} ${JSON.stringify(init)}`);
        return new Response("{}", { status: 500 });
      },
    });
    expect(await other.accessToken()).toBeNull();
    await expect(other.listSessions()).rejects.toMatchObject({ code: "signed_out" });
    await other.logout();
    for (const call of seen) {
      expect(call).not.toContain(verified.accessToken);
      expect(call).not.toContain(verified.refreshToken);
    }
    // The first service's client is still signed in: the other one neither used nor removed its session.
    const { client: again } = clientOf(storage);
    expect(await again.accessToken()).toBe(verified.accessToken);
  });
});
