import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SessionStore } from "../../src/platform/sessions/session-store";
import { callWith, uniquePhone } from "../helpers/api";
import { faultyNamespace } from "../helpers/faulty-bindings";
import { storeLimits, storeSession } from "../helpers/legacy-sessions";
import { expectProblem } from "../helpers/problem";
import { roundTripCounter } from "../helpers/round-trips";
import { refresh, signIn } from "../helpers/sessions";
import { advance, setUpWorkerTest } from "../helpers/setup";

/**
 * Two ways one client could take sessions from others: flooding bad refresh
 * tokens from a shared address (carrier NAT) until everyone's valid refresh
 * was refused, and a verify whose session create committed after its
 * deadline, whose undo left the session it had evicted gone for good.
 */
const fast2sms = setUpWorkerTest();

const from = (ip: string) => ({ headers: { "cf-connecting-ip": ip } });

describe("the per-address refresh allowance counts failed refreshes only", () => {
  const allowance = 20;
  const settings = { REFRESH_MAX_PER_IP_PER_HOUR: String(allowance) };

  it("allowance+1 bad refreshes from one address: the last is 429, and a valid refresh from it still rotates", async () => {
    const victim = await signIn(fast2sms);
    const shared = from("198.51.100.201");
    for (let i = 0; i < allowance; i++) {
      expectProblem(await refresh("x", settings, shared), 401, "invalid_refresh_token");
    }
    const limited = await refresh("x", settings, shared);
    expectProblem(limited, 429, "rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    // A well-formed forgery of the victim's token is refused the same way.
    const forged = `${victim.refreshToken.slice(0, -4)}AAAA`;
    expectProblem(await refresh(forged, settings, shared), 429, "rate_limited");

    const rotated = await refresh(victim.refreshToken, settings, shared);
    expect(rotated.status, JSON.stringify(rotated.body)).toBe(200);
    expect(rotated.body.refresh_token).toEqual(expect.any(String));
    expect(rotated.body.refresh_token).not.toBe(victim.refreshToken);
    expect(rotated.body.access_token).toEqual(expect.any(String));
    // A retry inside the grace window is a valid successor too; and the successor rotates again.
    expect((await refresh(victim.refreshToken, settings, shared)).body.refresh_token).toBe(rotated.body.refresh_token);
    expect((await refresh(rotated.body.refresh_token as string, settings, shared)).status).toBe(200);
    // Still over: failures keep being refused, until the hour has rolled on.
    expectProblem(await refresh("x", settings, shared), 429, "rate_limited");
    advance(3_600_001);
    expectProblem(await refresh("x", settings, shared), 401, "invalid_refresh_token");
  });

  it("valid refreshes, however many, spend none of it", async () => {
    const tight = { REFRESH_MAX_PER_IP_PER_HOUR: "2" };
    const shared = from("198.51.100.203");
    let token = (await signIn(fast2sms)).refreshToken;
    for (let i = 0; i < 5; i++) {
      const res = await refresh(token, tight, shared);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      token = res.body.refresh_token as string;
    }
    expectProblem(await refresh("x", tight, shared), 401, "invalid_refresh_token");
    expectProblem(await refresh("x", tight, shared), 401, "invalid_refresh_token");
    expectProblem(await refresh("x", tight, shared), 429, "rate_limited");
  });

  it("a reused token counts as a failure", async () => {
    const tight = { REFRESH_MAX_PER_IP_PER_HOUR: "1" };
    const shared = from("198.51.100.204");
    const { refreshToken } = await signIn(fast2sms);
    expect((await refresh(refreshToken, tight, shared)).status).toBe(200);
    advance(11_000);
    expectProblem(await refresh(refreshToken, tight, shared), 401, "invalid_refresh_token");
    expectProblem(await refresh("x", tight, shared), 429, "rate_limited");
  });

  it("a valid refresh asks no quota counter: one store call, no round trip before it", async () => {
    const { refreshToken } = await signIn(fast2sms);
    const counter = roundTripCounter();
    const res = await refresh(refreshToken, counter.bindings, from("198.51.100.205"));
    expect(res.status).toBe(200);
    expect(counter.calls()).toEqual([]);
    counter.reset();
    expectProblem(await refresh("x", counter.bindings, from("198.51.100.205")), 401, "invalid_refresh_token");
    expect(counter.calls()).toEqual(["quota.take"]);
  });
});

describe("a verify (the session's create) that commits after its deadline", () => {
  const settings = {
    OTP_RESEND_COOLDOWN_SECONDS: "0",
    OTP_MAX_SENDS_PER_HOUR: "20",
    OTP_MAX_SENDS_PER_NUMBER_PER_HOUR: "20",
  };

  const storeOf = (phone: string) => env.SESSION_STORE.get(env.SESSION_STORE.idFromName(phone));
  const rowsOf = (phone: string) =>
    runInDurableObject(env.PHONE_LIMITER.getByName(phone), (_, state) =>
      state.storage.sql.exec<Record<string, SqlStorageValue>>("SELECT * FROM sessions ORDER BY id").toArray(),
    );

  it("its undo brings back the session it evicted, exactly: still 10 sessions, and the evicted token refreshes", async () => {
    const phone = uniquePhone();
    const sessions = [];
    for (let i = 0; i < 10; i++) {
      sessions.push(await signIn(fast2sms, { phone, settings }));
      advance(1000);
    }
    const before = await rowsOf(phone);
    expect(before).toHaveLength(10);

    const sent = await callWith(settings, "/send-otp", { json: { phone } });
    expect(sent.status).toBe(200);
    const late = {
      ...settings,
      STORAGE_TIMEOUT_MS: "100",
      PHONE_LIMITER: faultyNamespace(env.PHONE_LIMITER, { recordAttempt: { late: 300 } }),
    };
    // callWith waits for the background work: the undo, at the deadline and again once the late answer arrives.
    const res = await callWith(late, "/verify-otp", {
      json: { phone, otp: fast2sms.lastCode(), verification_id: sent.body.verification_id },
    });
    expectProblem(res, 503, "unavailable");

    expect(await rowsOf(phone)).toEqual(before);
    // The least recently used one, the session the late create had evicted, still works.
    const evicted = await refresh(sessions[0]!.refreshToken, settings);
    expect(evicted.status, JSON.stringify(evicted.body)).toBe(200);
  });

  it("an undo after the number signed out everywhere brings nothing back", async () => {
    const limits = storeLimits(1);
    const phone = uniquePhone();
    const remaining = await runInDurableObject(storeOf(phone), async (store: SessionStore) => {
      await store.create(phone, storeSession("a"), limits);
      await store.create(phone, storeSession("b"), limits); // evicts a
      await store.endAll("b");
      await store.undoCreate("b");
      return store.count();
    });
    expect(remaining).toBe(0);
  });
});
