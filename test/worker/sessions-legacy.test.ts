import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { envWith, get, post, uniquePhone, withEnv } from "../helpers/api";
import { legacySession } from "../helpers/legacy-sessions";
import { expectProblem } from "../helpers/problem";
import { bearer, refresh, signIn } from "../helpers/sessions";
import { setUpWorkerTest } from "../helpers/setup";

/**
 * Sessions made before they moved to the number's PhoneLimiter live on in
 * its SessionStore (`rt1` tokens): an upgrade signs nobody out. Every
 * session route finds them, beside the number's new sessions.
 */
const fast2sms = setUpWorkerTest();

const ADMIN_TOKEN = "xxIT_SXoxRcrvsZPbU6_8zJoiPCmkzjympyjGpmaNUc";
const del = (path: string, init: RequestInit = {}) => withEnv(envWith({}), path, { ...init, method: "DELETE" });

/** An `rt1` session refreshed once: its token, and an access token that names it. */
async function legacySignedIn(phone: string) {
  const legacy = await legacySession(phone);
  const refreshed = await refresh(legacy.refreshToken);
  expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
  return {
    ...legacy,
    refreshToken: refreshed.body.refresh_token as string,
    accessToken: refreshed.body.access_token as string,
  };
}

describe("sessions made before they moved to the number's PhoneLimiter (rt1 tokens)", () => {
  it("keep rotating in their SessionStore, and an old token is still reuse", async () => {
    const phone = uniquePhone();
    const legacy = await legacySession(phone);
    const first = await refresh(legacy.refreshToken);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const successor = first.body.refresh_token as string;
    expect(successor.startsWith("rt1.")).toBe(true);
    expect(successor.split(".")[1]).toBe(env.SESSION_STORE.idFromName(phone).toString());
    const second = await refresh(successor);
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    // The first token, outside the grace window's one step back: reuse ends the session.
    expectProblem(await refresh(legacy.refreshToken), 401, "invalid_refresh_token");
    expectProblem(await refresh(second.body.refresh_token as string), 401, "invalid_refresh_token");
  });

  it("a token whose version names the wrong host is refused, never found in the other", async () => {
    const phone = uniquePhone();
    const legacy = await legacySession(phone);
    expectProblem(await refresh(legacy.refreshToken.replace(/^rt1\./, "rt2.")), 401, "invalid_refresh_token");
    const { refreshToken } = await signIn(fast2sms);
    expectProblem(await refresh(refreshToken.replace(/^rt2\./, "rt1.")), 401, "invalid_refresh_token");
    // Neither attempt spent the real tokens.
    expect((await refresh(legacy.refreshToken)).status).toBe(200);
    expect((await refresh(refreshToken)).status).toBe(200);
  });

  it("GET /sessions lists both hosts' sessions, for a caller in either", async () => {
    const phone = uniquePhone();
    const legacy = await legacySignedIn(phone);
    const current = await signIn(fast2sms, { phone });
    for (const caller of [legacy.accessToken, current.accessToken]) {
      const res = await get("/sessions", { headers: bearer(caller) });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const ids = (res.body.sessions as { id: string }[]).map((s) => s.id).sort();
      expect(ids).toEqual([legacy.sessionId, current.sessionId].sort());
    }
  });

  it("DELETE /sessions/{id} ends a session in the other host; POST /logout ends an rt1 one", async () => {
    const phone = uniquePhone();
    const legacy = await legacySignedIn(phone);
    const current = await signIn(fast2sms, { phone });
    expect((await del(`/sessions/${legacy.sessionId}`, { headers: bearer(current.accessToken) })).status).toBe(204);
    expectProblem(await refresh(legacy.refreshToken), 401, "invalid_refresh_token");
    const other = await legacySignedIn(phone);
    expect((await post("/logout", { refresh_token: other.refreshToken })).status).toBe(204);
    expectProblem(await refresh(other.refreshToken), 401, "invalid_refresh_token");
    expect((await refresh(current.refreshToken)).status).toBe(200);
  });

  it("POST /logout-all from either host ends the sessions of both", async () => {
    for (const from of ["legacy", "current"] as const) {
      const phone = uniquePhone();
      const legacy = await legacySignedIn(phone);
      const current = await signIn(fast2sms, { phone });
      const caller = from === "legacy" ? legacy.accessToken : current.accessToken;
      expect((await post("/logout-all", "", { headers: bearer(caller) })).status).toBe(204);
      expectProblem(await refresh(legacy.refreshToken), 401, "invalid_refresh_token");
      expectProblem(await refresh(current.refreshToken), 401, "invalid_refresh_token");
      // The caller's session has ended: it may manage nothing more.
      expectProblem(await get("/sessions", { headers: bearer(caller) }), 401, "invalid_token");
    }
  });

  it("the operator counts and ends both hosts' sessions", async () => {
    const phone = uniquePhone();
    const legacy = await legacySignedIn(phone);
    const current = await signIn(fast2sms, { phone });
    const environment = envWith({ ADMIN_TOKEN });
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const path = `/admin/numbers/${encodeURIComponent(phone)}`;
    expect((await withEnv(environment, path, { headers })).body.sessions).toBe(2);
    expect((await withEnv(environment, `${path}/sessions`, { headers, method: "DELETE" })).status).toBe(204);
    expect((await withEnv(environment, path, { headers })).body.sessions).toBe(0);
    expectProblem(await refresh(legacy.refreshToken), 401, "invalid_refresh_token");
    expectProblem(await refresh(current.refreshToken), 401, "invalid_refresh_token");
  });
});
