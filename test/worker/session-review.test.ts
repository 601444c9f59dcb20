import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  formatRefreshToken,
  newFamilySecret,
  newRotationSecret,
  newSessionId,
} from "../../src/domain/sessions/refresh-token";
import type { SessionStore } from "../../src/platform/sessions/session-store";
import { callWith, envWith, post, uniquePhone, withEnv } from "../helpers/api";
import { capturingQueue } from "../helpers/capturing-queue";
import { faultyNamespace } from "../helpers/faulty-bindings";
import { legacySession, storeLimits, storeSession } from "../helpers/legacy-sessions";
import { expectProblem } from "../helpers/problem";
import { bearer, refresh, signIn } from "../helpers/sessions";
import { advance, setUpWorkerTest } from "../helpers/setup";

/**
 * What an adversarial review of sessions in the number's PhoneLimiter found,
 * each with the attack it tried: forged tokens aimed at one number's object,
 * a sign-out everywhere left half-done, a logged-out session brought back by
 * a late create's undo, a successor kept in an evicted copy, and events for
 * a sign-in that never completed.
 */
const fast2sms = setUpWorkerTest();
const SECRET = `whsec_${btoa("objects' events secret, 32 bytes")}`;

afterEach(() => vi.restoreAllMocks());

/** PHONE_LIMITER whose stubs count the calls of `method`. */
function counting(method: string) {
  const ns = env.PHONE_LIMITER;
  const counter = { n: 0 };
  const wrap = (stub: unknown) =>
    new Proxy(stub as Record<string, (...a: unknown[]) => Promise<unknown>>, {
      get(target, prop: string) {
        return (...args: unknown[]) => {
          if (prop === method) counter.n++;
          return target[prop]!(...args);
        };
      },
    });
  const namespace = {
    getByName: (name: string) => wrap(ns.getByName(name)),
    get: (id: DurableObjectId) => wrap(ns.get(id)),
    idFromName: (name: string) => ns.idFromName(name),
    idFromString: (id: string) => ns.idFromString(id),
  } as unknown as typeof ns;
  return { namespace, counter };
}

/** A token for the victim's number's host with a made-up session id: what anyone who once held a token can forge. */
const forged = (hostId: string) =>
  formatRefreshToken(2, hostId, newSessionId(), 0, newFamilySecret(), newRotationSecret());

describe("forged rt2 tokens never reach the number's PhoneLimiter", () => {
  it("refresh: refused 401/429 in the Worker, no call on the object", async () => {
    const victim = await signIn(fast2sms);
    const hostId = victim.refreshToken.split(".")[1]!;
    const { namespace, counter } = counting("refresh");
    const settings = { REFRESH_MAX_PER_IP_PER_HOUR: "2", PHONE_LIMITER: namespace };
    const from = { headers: { "cf-connecting-ip": "203.0.113.77" } };
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await refresh(forged(hostId), settings, from)).status);
    expect(statuses).toEqual([401, 401, ...Array(8).fill(429)]);
    expect(counter.n).toBe(0);
    // The victim's own token still works, through the same object.
    expect((await refresh(victim.refreshToken, { PHONE_LIMITER: namespace })).status).toBe(200);
    expect(counter.n).toBe(1);
  });

  it("logout: refused as a malformed token is (401), and no call on the object", async () => {
    const victim = await signIn(fast2sms);
    const hostId = victim.refreshToken.split(".")[1]!;
    const { namespace, counter } = counting("logout");
    for (let i = 0; i < 10; i++) {
      const res = await callWith({ PHONE_LIMITER: namespace }, "/logout", { json: { refresh_token: forged(hostId) } });
      expectProblem(res, 401, "invalid_refresh_token");
    }
    expect(counter.n).toBe(0);
    expect((await refresh(victim.refreshToken)).status).toBe(200);
  });
});

describe("a token whose session id was really issued, but not by this token", () => {
  it("a made-up family secret fails the session id's tag: refused in the Worker", async () => {
    const victim = await signIn(fast2sms);
    const [, hostId, sessionId] = victim.refreshToken.split(".");
    const { namespace, counter } = counting("refresh");
    for (let i = 0; i < 5; i++) {
      const token = formatRefreshToken(2, hostId!, sessionId!, 0, newFamilySecret(), newRotationSecret());
      expectProblem(await refresh(token, { PHONE_LIMITER: namespace }), 401, "invalid_refresh_token");
    }
    expect(counter.n).toBe(0);
  });

  it("another spelling of the same session id (base64url's spare bits) is refused", async () => {
    const victim = await signIn(fast2sms);
    const parts = victim.refreshToken.split(".");
    const id = parts[2]!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // The last of 22 characters carries 2 bits of the 16 bytes and 4 spare ones: flip a spare bit.
    const last = alphabet.indexOf(id.at(-1)!);
    const respelt = `${id.slice(0, -1)}${alphabet[last ^ 1]}`;
    expect(atob(respelt.replace(/-/g, "+").replace(/_/g, "/"))).toBe(atob(id.replace(/-/g, "+").replace(/_/g, "/")));
    const { namespace, counter } = counting("refresh");
    parts[2] = respelt;
    expectProblem(await refresh(parts.join("."), { PHONE_LIMITER: namespace }), 401, "invalid_refresh_token");
    expect(counter.n).toBe(0);
  });

  it("a logged-out token replayed reaches the number's object once per isolate, then not for a minute", async () => {
    const victim = await signIn(fast2sms);
    expect((await post("/logout", { refresh_token: victim.refreshToken })).status).toBe(204);
    const refreshes = counting("refresh");
    for (let i = 0; i < 5; i++) {
      expectProblem(
        await refresh(victim.refreshToken, { PHONE_LIMITER: refreshes.namespace }),
        401,
        "invalid_refresh_token",
      );
    }
    expect(refreshes.counter.n).toBe(0); // the logout itself told this isolate the session is gone
    const logouts = counting("logout");
    for (let i = 0; i < 5; i++) {
      const res = await callWith({ PHONE_LIMITER: logouts.namespace }, "/logout", {
        json: { refresh_token: victim.refreshToken },
      });
      expect(res.status).toBe(204);
    }
    expect(logouts.counter.n).toBe(0);
    advance(61_000);
    expectProblem(
      await refresh(victim.refreshToken, { PHONE_LIMITER: refreshes.namespace }),
      401,
      "invalid_refresh_token",
    );
    expect(refreshes.counter.n).toBe(1);
  });
});

describe("POST /logout-all across both hosts", () => {
  it("its first step ends every other session of the caller's host, in the call that checks the caller's", async () => {
    const phone = uniquePhone();
    const limits = storeLimits(10);
    const store = env.SESSION_STORE.get(env.SESSION_STORE.idFromName(phone));
    const result = await runInDurableObject(store, async (s: SessionStore) => {
      for (const id of ["a", "b", "c"]) await s.create(phone, storeSession(id), limits);
      const others = await s.endOthers("a");
      const gone = await s.endOthers("zzz");
      return { others: others?.sort(), gone, left: (await s.list(null))?.map((x) => x.id) };
    });
    expect(result).toEqual({ others: ["b", "c"], gone: null, left: ["a"] });
  });

  it("a failure half-way leaves the caller signed in, and the retry ends everything", async () => {
    const phone = uniquePhone();
    const legacy = await legacySession(phone); // e.g. a stolen device's old session
    const owner = await signIn(fast2sms, { phone });
    const broken = envWith({ SESSION_STORE: faultyNamespace(env.SESSION_STORE, { endAll: new Error("store down") }) });
    const first = await withEnv(broken, "/logout-all", { method: "POST", headers: bearer(owner.accessToken) });
    expectProblem(first, 503, "unavailable");
    expect((await post("/logout-all", "", { headers: bearer(owner.accessToken) })).status).toBe(204);
    expectProblem(await refresh(legacy.refreshToken), 401, "invalid_refresh_token");
    expectProblem(await refresh(owner.refreshToken), 401, "invalid_refresh_token");
  });
});

describe("DELETE /sessions/{id} with one host failing", () => {
  it("a session that did end is told to the app, though the answer is 503", async () => {
    const { messages, queue } = capturingQueue();
    const events = {
      EVENTS_WEBHOOK_URL: "https://app.test/events",
      EVENTS_WEBHOOK_SECRET: SECRET,
      EVENTS_QUEUE: queue,
    };
    const phone = uniquePhone();
    await legacySession(phone);
    const owner = await signIn(fast2sms, { phone });
    const other = await signIn(fast2sms, { phone, settings: { OTP_RESEND_COOLDOWN_SECONDS: "0" } });
    const broken = envWith({
      ...events,
      SESSION_STORE: faultyNamespace(env.SESSION_STORE, { end: new Error("down") }),
    });
    const res = await withEnv(broken, `/sessions/${other.sessionId}`, {
      method: "DELETE",
      headers: bearer(owner.accessToken),
    });
    expectProblem(res, 503, "unavailable");
    expectProblem(await refresh(other.refreshToken), 401, "invalid_refresh_token");
    const ended = messages
      .map((m) => JSON.parse(m.body) as { type: string; data: { session_id: string; reason: string } })
      .filter((e) => e.type === "session.ended");
    expect(ended.map((e) => [e.data.session_id, e.data.reason])).toEqual([[other.sessionId, "logout"]]);
  });
});

describe("what a late create's undo may bring back", () => {
  const limits = storeLimits(1);

  it("not a session logged out while that create had evicted it", async () => {
    const phone = uniquePhone();
    const store = env.SESSION_STORE.get(env.SESSION_STORE.idFromName(phone));
    const left = await runInDurableObject(store, async (s: SessionStore) => {
      await s.create(phone, storeSession("a"), limits);
      await s.create(phone, storeSession("b"), limits); // evicts a
      expect(await s.logout("a", "family-a")).toBe(phone); // a's device signs out
      await s.undoCreate("b"); // b's answer came too late
      return s.list(null);
    });
    expect(left).toEqual([]);
  });

  it("no successor's string in an evicted copy, where nothing would delete it after the grace window", async () => {
    const phone = uniquePhone();
    const settings = { SESSIONS_MAX_PER_NUMBER: "1", OTP_RESEND_COOLDOWN_SECONDS: "0" };
    const a = await signIn(fast2sms, { phone, settings });
    const successor = (await refresh(a.refreshToken, settings)).body.refresh_token as string;
    expect(successor).toEqual(expect.any(String));
    await signIn(fast2sms, { phone, settings }); // evicts a within its grace window
    advance(11_000);
    const copies = await runInDurableObject(env.PHONE_LIMITER.getByName(phone), (_, state) =>
      state.storage.sql.exec<Record<string, SqlStorageValue>>("SELECT * FROM evicted").toArray(),
    );
    expect(copies).toHaveLength(1);
    expect(copies[0]!.successor).toBeNull();
    // Nor the previous token: a restored copy answers a retry of it as unknown, never as reuse.
    expect(copies[0]!.previous_hash).toBeNull();
    expect(JSON.stringify(copies)).not.toContain(successor.split(".").at(-1)!);
  });
});

describe("a verify whose tokens cannot be signed", () => {
  it("gives the code back, leaves no session, and tells the app nothing", async () => {
    const { messages, queue } = capturingQueue();
    const environment = envWith({
      EVENTS_WEBHOOK_URL: "https://app.test/events",
      EVENTS_WEBHOOK_SECRET: SECRET,
      EVENTS_QUEUE: queue,
    });
    const phone = uniquePhone();
    const sent = await withEnv(environment, "/send-otp", { json: { phone } });
    const body = { phone, otp: fast2sms.lastCode(), verification_id: sent.body.verification_id };
    const real = crypto.subtle.sign.bind(crypto.subtle);
    vi.spyOn(crypto.subtle, "sign").mockImplementation((alg, key, data) => {
      // The access token's signing input starts with its base64url header: only that signature fails.
      if (new TextDecoder().decode(data as ArrayBuffer).startsWith("eyJ")) {
        return Promise.reject(new Error("signing key unavailable"));
      }
      return real(alg, key, data);
    });
    const res = await withEnv(environment, "/verify-otp", { json: body });
    vi.restoreAllMocks();
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(await env.PHONE_LIMITER.getByName(phone).count()).toBe(0);
    const types = messages.map((m) => (JSON.parse(m.body) as { type: string }).type);
    expect(types).not.toContain("verification.approved");
    expect(types).not.toContain("session.created");
    // The code was given back: the same code signs in once signing works.
    const again = await withEnv(environment, "/verify-otp", { json: body });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(messages.map((m) => (JSON.parse(m.body) as { type: string }).type)).toEqual(
      expect.arrayContaining(["verification.approved", "session.created"]),
    );
  });
});
