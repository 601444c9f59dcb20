import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { describe, expect, it, vi } from "vitest";
import { type ApiResponse, callWith, get, post, uniquePhone } from "../helpers/api";
import { faultyNamespace, overloaded } from "../helpers/faulty-bindings";
import { legacySession } from "../helpers/legacy-sessions";
import { expectProblem } from "../helpers/problem";
import { bearer, refresh, signIn } from "../helpers/sessions";
import { advance, setUpWorkerTest } from "../helpers/setup";

const fast2sms = setUpWorkerTest();

const DAY = 86_400_000;

async function expectRefreshed(token: string) {
  const res = await refresh(token);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res;
}

describe("verify-otp starts a session", () => {
  it("answers a refresh token and its lifetime; the access token names the session in sid", async () => {
    const { verified, sessionId, phone } = await signIn(fast2sms);
    expect(verified.body).toMatchObject({ refresh_expires_in: 2_592_000, expires_in: 900 });
    expect(sessionId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(decodeJwt(verified.body.access_token as string)).toMatchObject({ sub: phone, sid: sessionId });
  });

  it("a refresh token reveals nothing about the number, in clear or base64-decoded", async () => {
    const { refreshToken, phone } = await signIn(fast2sms);
    const digits = phone.slice(1);
    const national = phone.slice(3);
    const decoded = refreshToken.split(".").map((part) => {
      try {
        return atob(part.replace(/-/g, "+").replace(/_/g, "/"));
      } catch {
        return "";
      }
    });
    for (const text of [refreshToken, ...decoded]) {
      expect(text).not.toContain(digits);
      expect(text).not.toContain(national);
    }
    // The host id is the Durable Object id of the number's PhoneLimiter, which keeps its sessions: a keyed hash.
    expect(refreshToken.split(".")[0]).toBe("rt2");
    expect(refreshToken.split(".")[1]).toBe(env.PHONE_LIMITER.idFromName(phone).toString());
  });
});

describe("verify-otp when the number's object fails", () => {
  it("the call that would use the code up and start the session fails: 503, then the same code verifies", async () => {
    const phone = uniquePhone();
    const sent = await post("/send-otp", { phone });
    const body = { phone, otp: fast2sms.lastCode(), verification_id: sent.body.verification_id };
    const failing = faultyNamespace(env.PHONE_LIMITER, { recordAttempt: overloaded() });
    expectProblem(await callWith({ PHONE_LIMITER: failing }, "/verify-otp", { json: body }), 503, "unavailable");
    const again = await post("/verify-otp", body);
    expect(again.status).toBe(200);
    expect(again.body.refresh_token).toEqual(expect.any(String));
  });

  it("one that commits too late is undone: 503, no session is left, and the same code verifies", async () => {
    const phone = uniquePhone();
    const sent = await post("/send-otp", { phone });
    const body = { phone, otp: fast2sms.lastCode(), verification_id: sent.body.verification_id };
    const late = faultyNamespace(env.PHONE_LIMITER, { recordAttempt: { late: 300 } });
    expectProblem(
      await callWith({ PHONE_LIMITER: late, STORAGE_TIMEOUT_MS: "100" }, "/verify-otp", { json: body }),
      503,
      "unavailable",
    );
    expect(await env.PHONE_LIMITER.getByName(phone).count()).toBe(0);
    const again = await post("/verify-otp", body);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(await env.PHONE_LIMITER.getByName(phone).count()).toBe(1);
  });
});

describe("POST /token/refresh", () => {
  it("rotates: a new refresh token and a new access token for the same session and number", async () => {
    const { refreshToken, sessionId, phone } = await signIn(fast2sms);
    const res = await expectRefreshed(refreshToken);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.body).toMatchObject({ token_type: "Bearer", expires_in: 900, refresh_expires_in: 2_592_000 });
    expect(res.body.refresh_token).not.toBe(refreshToken);
    expect(decodeJwt(res.body.access_token as string)).toMatchObject({
      sub: phone,
      phone_number: phone,
      sid: sessionId,
    });
    const next = await expectRefreshed(res.body.refresh_token as string);
    expect(next.body.refresh_token).not.toBe(res.body.refresh_token);
  });

  it("a retry inside the grace window gets the same successor, and the successor keeps working", async () => {
    const { refreshToken } = await signIn(fast2sms);
    const first = await expectRefreshed(refreshToken);
    advance(9_000);
    const retry = await expectRefreshed(refreshToken);
    expect(retry.body.refresh_token).toBe(first.body.refresh_token);
    await expectRefreshed(first.body.refresh_token as string);
  });

  it("20 concurrent refreshes of one token all succeed, with one successor", async () => {
    const { refreshToken } = await signIn(fast2sms);
    const answers = await Promise.all(Array.from({ length: 20 }, () => refresh(refreshToken)));
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
    const successors = new Set(answers.map((a) => a.body.refresh_token));
    expect(successors.size).toBe(1);
    await expectRefreshed([...successors][0] as string);
  });

  it("the previous token after the grace window is reuse: 401, and the session ends, successor included", async () => {
    const { refreshToken, accessToken } = await signIn(fast2sms);
    const successor = (await expectRefreshed(refreshToken)).body.refresh_token as string;
    advance(10_001);
    expectProblem(await refresh(refreshToken), 401, "invalid_refresh_token");
    expectProblem(await refresh(successor), 401, "invalid_refresh_token");
    // The session is gone: even its own access token may no longer manage the number's sessions.
    expectProblem(await get("/sessions", { headers: bearer(accessToken) }), 401, "invalid_token");
  });

  it("an older token, even inside the window, is reuse and ends the session", async () => {
    const { refreshToken } = await signIn(fast2sms);
    const second = (await expectRefreshed(refreshToken)).body.refresh_token as string;
    const third = (await expectRefreshed(second)).body.refresh_token as string;
    expectProblem(await refresh(refreshToken), 401, "invalid_refresh_token");
    expectProblem(await refresh(third), 401, "invalid_refresh_token");
  });

  it("REFRESH_REUSE_GRACE_SECONDS=0: any second use is reuse", async () => {
    const settings = { REFRESH_REUSE_GRACE_SECONDS: "0" };
    const { refreshToken } = await signIn(fast2sms, { settings });
    const next = await refresh(refreshToken, settings);
    expect(next.status).toBe(200);
    expectProblem(await refresh(refreshToken, settings), 401, "invalid_refresh_token");
    expectProblem(await refresh(next.body.refresh_token as string, settings), 401, "invalid_refresh_token");
  });

  it("a forged token (a known session id, a made-up secret) is refused without ending the session", async () => {
    const { refreshToken } = await signIn(fast2sms);
    const [prefix, store, sid] = refreshToken.split(".");
    for (const counter of ["0", "1", "7"]) {
      const forged = `${prefix}.${store}.${sid}.${counter}.${"A".repeat(64)}`;
      expectProblem(await refresh(forged), 401, "invalid_refresh_token");
    }
    await expectRefreshed(refreshToken);
  });

  it("refuses garbage, another namespace's id, and bad bodies cleanly", async () => {
    for (const token of ["x", "rt1.abc", `rt1.${"0".repeat(64)}.${"A".repeat(22)}.0.${"A".repeat(64)}`]) {
      expectProblem(await refresh(token), 401, "invalid_refresh_token");
    }
    expectProblem(await post("/token/refresh", {}), 400, "invalid_request");
    expectProblem(await post("/token/refresh", { refresh_token: 5 }), 400, "invalid_request");
    expectProblem(await post("/token/refresh", { refresh_token: "x", extra: 1 }), 400, "invalid_request");
    expectProblem(await post("/token/refresh", "not json"), 400, "invalid_request");
    expectProblem(await post("/logout", {}), 400, "invalid_request");
  });

  it("limits failed refreshes per client address (REFRESH_MAX_PER_IP_PER_HOUR), never valid ones", async () => {
    const settings = { REFRESH_MAX_PER_IP_PER_HOUR: "3" };
    const { refreshToken } = await signIn(fast2sms);
    const from = { headers: { "cf-connecting-ip": "198.51.100.23" } };
    for (let i = 0; i < 3; i++) expectProblem(await refresh("garbage", settings, from), 401, "invalid_refresh_token");
    const limited = await refresh("garbage", settings, from);
    expectProblem(limited, 429, "rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await refresh(refreshToken, settings, from)).status).toBe(200);
    expectProblem(
      await refresh("garbage", settings, { headers: { "cf-connecting-ip": "198.51.100.24" } }),
      401,
      "invalid_refresh_token",
    );
  });
});

describe("with Firebase and asymmetric keys", () => {
  it("a refresh also answers firebase_token, and bearer routes accept EdDSA access tokens", async () => {
    const { exportJWK, exportPKCS8, generateKeyPair } = await import("jose");
    const rsa = await generateKeyPair("RS256", { extractable: true });
    const account = JSON.stringify({
      type: "service_account",
      project_id: "demo",
      private_key: await exportPKCS8(rsa.privateKey),
      client_email: "svc@demo.iam.gserviceaccount.com",
    });
    const ed = await generateKeyPair("EdDSA", { extractable: true });
    const jwk = { ...(await exportJWK(ed.privateKey)), kid: "k1", alg: "EdDSA" };
    const settings = { FIREBASE_SERVICE_ACCOUNT: account, JWT_PRIVATE_KEY: JSON.stringify(jwk) };
    const { refreshToken, phone } = await signIn(fast2sms, { settings });
    const res = await refresh(refreshToken, settings);
    expect(res.status).toBe(200);
    expect(res.body.firebase_token).toEqual(expect.any(String));
    const list = await callWith(settings, "/sessions", { headers: bearer(res.body.access_token as string) });
    expect(list.status).toBe(200);
    expect((list.body.sessions as unknown[]).length).toBe(1);
    expect(JSON.stringify(list.body)).not.toContain(phone);
  });
});

describe("lifetimes", () => {
  it("idle: a session not refreshed for REFRESH_TOKEN_TTL_SECONDS ends", async () => {
    const { refreshToken } = await signIn(fast2sms);
    advance(30 * DAY - 60_000);
    const alive = await expectRefreshed(refreshToken);
    advance(30 * DAY + 1000);
    expectProblem(await refresh(alive.body.refresh_token as string), 401, "invalid_refresh_token");
  });

  it("absolute: refreshing every 4 hours, with retries and races, stays signed in for 90 days, then ends", async () => {
    const { refreshToken, sessionId } = await signIn(fast2sms);
    let token = refreshToken;
    const steps = (90 * DAY) / (4 * 3_600_000) - 1;
    for (let i = 0; i < steps; i++) {
      advance(4 * 3_600_000);
      let res: ApiResponse;
      if (i % 50 === 0) {
        const race = await Promise.all([refresh(token), refresh(token), refresh(token)]);
        expect(race.map((r) => r.status)).toEqual([200, 200, 200]);
        expect(new Set(race.map((r) => r.body.refresh_token)).size).toBe(1);
        res = race[0]!;
      } else {
        res = await expectRefreshed(token);
        if (i % 50 === 25) {
          advance(5_000); // the answer was lost; the client retries
          expect((await expectRefreshed(token)).body.refresh_token).toBe(res.body.refresh_token);
        }
      }
      expect(decodeJwt(res.body.access_token as string).sid).toBe(sessionId);
      expect(res.body.refresh_expires_in as number).toBeLessThanOrEqual(30 * 86_400);
      token = res.body.refresh_token as string;
    }
    // The last refresh inside the 90 days says how long is left: less than 4 hours.
    advance(4 * 3_600_000);
    expectProblem(await refresh(token), 401, "invalid_refresh_token");
  }, 120_000);
});

describe("many sessions per number", () => {
  const settings = { SESSIONS_MAX_PER_NUMBER: "2", OTP_RESEND_COOLDOWN_SECONDS: "0", OTP_MAX_SENDS_PER_HOUR: "10" };

  it("a new session beyond SESSIONS_MAX_PER_NUMBER ends the least recently used one", async () => {
    const phone = uniquePhone();
    const a = await signIn(fast2sms, { phone, settings });
    advance(1000);
    const b = await signIn(fast2sms, { phone, settings });
    advance(1000);
    const aNext = await refresh(a.refreshToken, settings); // a is now the more recently used
    expect(aNext.status).toBe(200);
    advance(1000);
    const c = await signIn(fast2sms, { phone, settings });
    expectProblem(await refresh(b.refreshToken, settings), 401, "invalid_refresh_token");
    expect((await refresh(aNext.body.refresh_token as string, settings)).status).toBe(200);
    expect((await refresh(c.refreshToken, settings)).status).toBe(200);
  });

  it("GET /sessions lists them, marks the current one, and shows only a coarse client", async () => {
    const phone = uniquePhone();
    const ua =
      "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP1A) AppleWebKit/537.36 Chrome/131.0.6778.39 Mobile Safari/537.36";
    const a = await signIn(fast2sms, { phone, settings, userAgent: ua });
    const b = await signIn(fast2sms, { phone, settings });
    const list = await get("/sessions", { headers: bearer(b.accessToken) });
    expect(list.status).toBe(200);
    const sessions = list.body.sessions as Record<string, unknown>[];
    expect(sessions.map((s) => [s.id, s.current]).sort()).toEqual(
      [
        [a.sessionId, false],
        [b.sessionId, true],
      ].sort(),
    );
    const first = sessions.find((s) => s.id === a.sessionId)!;
    expect(first.client).toBe("Chrome on Android");
    for (const field of ["created_at", "last_used_at", "expires_at"])
      expect(Date.parse(first[field] as string)).toBeGreaterThan(0);
    expect(JSON.stringify(list.body)).not.toContain(phone.slice(1));
  });

  it("DELETE /sessions/{id} ends one's own session; another number's or an unknown id is 404", async () => {
    const phone = uniquePhone();
    const a = await signIn(fast2sms, { phone, settings });
    const b = await signIn(fast2sms, { phone, settings });
    const stranger = await signIn(fast2sms);
    const del = await callWith({}, `/sessions/${a.sessionId}`, {
      method: "DELETE",
      headers: bearer(b.accessToken),
    });
    expect(del.status).toBe(204);
    expectProblem(await refresh(a.refreshToken), 401, "invalid_refresh_token");
    expectProblem(
      await callWith({}, `/sessions/${a.sessionId}`, { method: "DELETE", headers: bearer(b.accessToken) }),
      404,
      "session_not_found",
    );
    expectProblem(
      await callWith({}, `/sessions/${stranger.sessionId}`, { method: "DELETE", headers: bearer(b.accessToken) }),
      404,
      "session_not_found",
    );
    expect((await refresh(stranger.refreshToken)).status).toBe(200);
    expect((await refresh(b.refreshToken)).status).toBe(200);
  });
});

describe("logout", () => {
  it("POST /logout ends that session only, and is idempotent", async () => {
    const phone = uniquePhone();
    const settings = { OTP_RESEND_COOLDOWN_SECONDS: "0" };
    const a = await signIn(fast2sms, { phone, settings });
    const b = await signIn(fast2sms, { phone, settings });
    const out = await post("/logout", { refresh_token: a.refreshToken });
    expect(out.status).toBe(204);
    expect((await post("/logout", { refresh_token: a.refreshToken })).status).toBe(204);
    expectProblem(await refresh(a.refreshToken), 401, "invalid_refresh_token");
    expect((await refresh(b.refreshToken)).status).toBe(200);
    expectProblem(await post("/logout", { refresh_token: "nonsense" }), 401, "invalid_refresh_token");
  });

  it("POST /logout-all ends every session of the number, and needs a valid access token", async () => {
    const phone = uniquePhone();
    const settings = { OTP_RESEND_COOLDOWN_SECONDS: "0" };
    const a = await signIn(fast2sms, { phone, settings });
    const b = await signIn(fast2sms, { phone, settings });
    const other = await signIn(fast2sms);
    const missing = await post("/logout-all", "");
    expectProblem(missing, 401, "invalid_token");
    expect(missing.headers.get("www-authenticate")).toBe("Bearer");
    expectProblem(
      await post("/logout-all", "", { headers: { authorization: "Bearer not.a.jwt" } }),
      401,
      "invalid_token",
    );
    expectProblem(
      await get("/sessions", { headers: { authorization: `Bearer ${a.refreshToken}` } }),
      401,
      "invalid_token",
    );

    expect((await post("/logout-all", "", { headers: bearer(a.accessToken) })).status).toBe(204);
    expectProblem(await refresh(a.refreshToken), 401, "invalid_refresh_token");
    expectProblem(await refresh(b.refreshToken), 401, "invalid_refresh_token");
    expect((await refresh(other.refreshToken)).status).toBe(200);
  });

  it("an expired access token is invalid_token", async () => {
    const { accessToken } = await signIn(fast2sms);
    advance(901_000);
    expectProblem(await get("/sessions", { headers: bearer(accessToken) }), 401, "invalid_token");
  });
});

describe("storage is pruned", () => {
  it("a session that ends leaves no row in the number's object", async () => {
    const { refreshToken, phone } = await signIn(fast2sms);
    const rows = () =>
      runInDurableObject(
        env.PHONE_LIMITER.getByName(phone),
        (_, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sessions").one().n,
      );
    expect(await rows()).toBe(1);
    expect((await post("/logout", { refresh_token: refreshToken })).status).toBe(204);
    expect(await rows()).toBe(0);
  });

  it("a SessionStore (sessions made before they moved) deletes its storage once its last session has ended", async () => {
    const phone = uniquePhone();
    const { refreshToken } = await legacySession(phone);
    const stub = env.SESSION_STORE.get(env.SESSION_STORE.idFromName(phone));
    const rows = () =>
      runInDurableObject(stub, (_, state) => {
        try {
          return state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM sessions").one().n;
        } catch {
          return 0; // no table: everything was deleted
        }
      });
    expect(await rows()).toBe(1);
    expect((await post("/logout", { refresh_token: refreshToken })).status).toBe(204);
    expect(await rows()).toBe(0);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await runInDurableObject(stub, (_, state) => state.storage.sql.databaseSize)).toBeLessThan(16_384);
  });
});

describe("what the store keeps", () => {
  const rowsOf = async (phone: string) => {
    const stub = env.PHONE_LIMITER.getByName(phone);
    return runInDurableObject(stub, (_, state) => {
      try {
        return state.storage.sql.exec<Record<string, SqlStorageValue>>("SELECT * FROM sessions").toArray();
      } catch {
        return [];
      }
    });
  };

  it("no token, only keyed hashes; the successor only during the grace window", async () => {
    const { refreshToken, phone, sessionId } = await signIn(fast2sms);
    const successor = (await expectRefreshed(refreshToken)).body.refresh_token as string;
    const secretOf = (token: string) => token.split(".").at(-1)!;
    const row = async () => (await rowsOf(phone)).find((r) => r.id === sessionId)!;
    expect(JSON.stringify(await row())).not.toContain(secretOf(refreshToken));
    expect((await row()).successor).toBe(successor); // needed to answer a retry with the same successor...
    advance(10_001);
    await signIn(fast2sms, { phone, settings: { OTP_RESEND_COOLDOWN_SECONDS: "0" } }); // any access prunes
    expect((await row()).successor).toBeNull(); // ...and deleted once the window has passed
    expect(JSON.stringify(await rowsOf(phone))).not.toContain(secretOf(successor));
  });

  it("expired sessions are deleted, by the alarm or on the next access", async () => {
    const phone = uniquePhone();
    const settings = { OTP_RESEND_COOLDOWN_SECONDS: "0" };
    await signIn(fast2sms, { phone, settings });
    advance(20 * DAY);
    const fresh = await signIn(fast2sms, { phone, settings });
    expect(await rowsOf(phone)).toHaveLength(2);
    advance(10 * DAY + 1000); // the first session has been idle for 30 days
    await runDurableObjectAlarm(env.PHONE_LIMITER.getByName(phone));
    expect((await rowsOf(phone)).map((r) => r.id)).toEqual([fresh.sessionId]);
  });
});

/** PHONE_LIMITER (the sessions' host) whose `refresh` fails (before anything happened) or commits but answers too late. */
function storeWith(fault: "throw" | "late"): DurableObjectNamespace {
  const ns = env.PHONE_LIMITER;
  return {
    getByName: (name: string) => ns.getByName(name),
    idFromName: (name: string) => ns.idFromName(name),
    idFromString: (id: string) => ns.idFromString(id),
    get(id: DurableObjectId) {
      const stub = ns.get(id) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      return new Proxy(stub, {
        get(target, prop: string) {
          if (prop !== "refresh") return (...args: unknown[]) => target[prop]!(...args);
          if (fault === "throw") return () => Promise.reject(overloaded());
          return async (...args: unknown[]) => {
            await target.refresh!(...args); // the rotation commits...
            return new Promise(() => {}); // ...but its answer never arrives
          };
        },
      });
    },
  } as unknown as DurableObjectNamespace;
}

describe("a Durable Object that fails or is slow during a refresh", () => {
  it("fails: 503, and the presented token still works afterwards", async () => {
    const { refreshToken } = await signIn(fast2sms);
    const res = await refresh(refreshToken, { PHONE_LIMITER: storeWith("throw") });
    expectProblem(res, 503, "unavailable");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    await expectRefreshed(refreshToken);
  });

  it("slow (rotation committed, answer lost): 503, and a retry inside the window gets the successor", async () => {
    const { refreshToken } = await signIn(fast2sms);
    expectProblem(
      await refresh(refreshToken, { PHONE_LIMITER: storeWith("late"), STORAGE_TIMEOUT_MS: "100" }),
      503,
      "unavailable",
    );
    const retry = await expectRefreshed(refreshToken);
    expect(retry.body.refresh_token).not.toBe(refreshToken);
    await expectRefreshed(retry.body.refresh_token as string);
  });

  it("slow: a retry long after the grace window still works (the late rotation was taken back)", async () => {
    const { refreshToken } = await signIn(fast2sms);
    expectProblem(
      await refresh(refreshToken, { PHONE_LIMITER: storeWith("late"), STORAGE_TIMEOUT_MS: "100" }),
      503,
      "unavailable",
    );
    advance(120_000);
    const retry = await expectRefreshed(refreshToken);
    await expectRefreshed(retry.body.refresh_token as string);
  });

  it("slow with REFRESH_REUSE_GRACE_SECONDS=0: an immediate retry still works", async () => {
    const settings = { REFRESH_REUSE_GRACE_SECONDS: "0" };
    const { refreshToken } = await signIn(fast2sms, { settings });
    expectProblem(
      await refresh(refreshToken, { ...settings, PHONE_LIMITER: storeWith("late"), STORAGE_TIMEOUT_MS: "100" }),
      503,
      "unavailable",
    );
    await expectRefreshed(refreshToken);
  });

  it("a 503 costs none of the client's refresh quota", async () => {
    const settings = { REFRESH_MAX_PER_IP_PER_HOUR: "1" };
    const init = { headers: { "cf-connecting-ip": "192.0.2.171" } };
    const { refreshToken } = await signIn(fast2sms);
    expectProblem(
      await refresh(refreshToken, { ...settings, PHONE_LIMITER: storeWith("throw") }, init),
      503,
      "unavailable",
    );
    const res = await refresh(refreshToken, settings, init);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });
});

describe("an access token whose session has ended", () => {
  it("cannot list, end or sign out the number's other sessions", async () => {
    const thief = await signIn(fast2sms);
    const next = await expectRefreshed(thief.refreshToken);
    advance(31_000);
    // Reuse of the older token ends the session.
    expectProblem(await refresh(thief.refreshToken), 401, "invalid_refresh_token");
    const owner = await signIn(fast2sms, { phone: thief.phone });
    const old = bearer(next.body.access_token as string);
    expectProblem(await get("/sessions", { headers: old }), 401, "invalid_token");
    expectProblem(
      await callWith({}, `/sessions/${owner.sessionId}`, { method: "DELETE", headers: old }),
      401,
      "invalid_token",
    );
    expectProblem(await post("/logout-all", undefined, { headers: old }), 401, "invalid_token");
    await expectRefreshed(owner.refreshToken);
  });
});

describe("logs", () => {
  it("never contain a refresh or access token", async () => {
    const output: string[] = [];
    for (const level of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        output.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      });
    }
    const { refreshToken, accessToken } = await signIn(fast2sms);
    const next = await expectRefreshed(refreshToken);
    await refresh(refreshToken);
    advance(11_000);
    await refresh(refreshToken); // reuse: logged as an event, without the token
    await refresh("rt1.garbage");
    await get("/sessions", { headers: bearer(accessToken) });
    await post("/logout", { refresh_token: next.body.refresh_token });
    const all = output.join("\n");
    expect(output.length).toBeGreaterThanOrEqual(6);
    expect(all).toContain("session.reuse_detected");
    for (const secret of [
      refreshToken,
      next.body.refresh_token as string,
      next.body.access_token as string,
      accessToken,
    ]) {
      expect(all).not.toContain(secret);
      expect(all).not.toContain(secret.split(".").at(-1)!);
    }
  });
});
