import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import app from "../../src/index";
import { BASE, envWith } from "../helpers/api";
import { FAKE_BASE_URL } from "../helpers/fake-fast2sms";
import { routeOutbound } from "../helpers/outbound";
import { setUpWorkerTest } from "../helpers/setup";

/**
 * Workers cancel a request's work when its client disconnects, all but what
 * it handed to ctx.waitUntil. A send that took its holds (the range's entry,
 * the budget, the number's slot) and is then cut off would never give them
 * back: a stranger who drops the connection while the gateway refuses (or
 * before it is called) would leave range entries that settle and block the
 * range without any SMS going out. So the send runs inside waitUntil.
 */
setUpWorkerTest();

const held = (range: string) =>
  runInDurableObject(env.RANGE_GUARD.getByName(`range:${range}`), (_, state) => {
    state.storage.sql.exec("CREATE TABLE IF NOT EXISTS held (code_id TEXT PRIMARY KEY, at INTEGER NOT NULL)");
    return state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM held").one().n;
  });

describe("a client that disconnects mid-send", () => {
  it("cannot cut the send off: its work is in waitUntil, so a clean refusal still gives the range entry back", async () => {
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    let gatewayCalled!: () => void;
    const called = new Promise<void>((resolve) => {
      gatewayCalled = resolve;
    });
    routeOutbound(FAKE_BASE_URL, async () => {
      gatewayCalled();
      await gate;
      return Response.json({ return: false, status_code: 996, message: "refused" }, { status: 400 });
    });
    const phone = "+919812345678";
    const range = phone.slice(0, -3);
    const ctx = createExecutionContext();
    const kept: Promise<unknown>[] = [];
    const keep = ctx.waitUntil.bind(ctx);
    ctx.waitUntil = (work: Promise<unknown>) => {
      kept.push(work);
      keep(work);
    };
    const request = new Request(`${BASE}/send-otp`, {
      method: "POST",
      headers: { "content-type": "application/json", "cf-connecting-ip": "203.0.113.77" },
      body: JSON.stringify({ phone }),
    });
    let answered = false;
    const response = Promise.resolve(app.fetch(request, envWith({}), ctx)).then((res) => {
      answered = true;
      return res;
    });
    await called;
    expect(await held(range)).toBe(1);
    // What waitUntil holds at the moment the gateway is called: one of them must be the send itself,
    // which settles once the gateway has answered and no later than the response.
    let gateOpen = false;
    const settledDuringSend = kept.map((work) =>
      work.then(
        () => gateOpen && !answered,
        () => gateOpen && !answered,
      ),
    );
    gateOpen = true;
    openGate();
    expect((await response).status).toBe(502);
    await waitOnExecutionContext(ctx);
    expect(await Promise.all(settledDuringSend)).toContain(true);
    expect(await held(range)).toBe(0);
  });
});
