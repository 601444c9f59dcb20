import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import app from "../../src/index";
import { BASE, uniquePhone, withEnv } from "../helpers/api";
import { setClock, setUpWorkerTest } from "../helpers/setup";
import { storageCallCounter } from "../helpers/storage-calls";

/**
 * The operator's counts batched per isolate (STATS_FLUSH_MS, src/domain/stats/stats-batch.ts):
 * many events, one StatsCounter call per day and shard; exact once written, never counted twice;
 * GET /admin/stats writes its own isolate's batch before it reads.
 */
const fast2sms = setUpWorkerTest();
const TOKEN = "xxIT_SXoxRcrvsZPbU6_8zJoiPCmkzjympyjGpmaNUc";

describe("STATS_FLUSH_MS: the operator's counts batched per isolate", () => {
  it("sends and verifies in one window make one call per shard; /admin/stats shows them at once, and the later flush adds nothing", async () => {
    const day = "2031-07-04";
    setClock(Date.parse(`${day}T08:00:00Z`));
    const counter = storageCallCounter();
    const environment = {
      ...env,
      ADMIN_TOKEN: TOKEN,
      STATS_FLUSH_MS: "2000",
      STATS_COUNTER: counter.bindings().STATS_COUNTER,
    } as Env;
    const contexts: ExecutionContext[] = [];
    // Answered, with their work after the response still running: the batch is open.
    const call = async (path: string, json: unknown) => {
      const ctx = createExecutionContext();
      contexts.push(ctx);
      const request = new Request(`${BASE}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(json),
      });
      return (await app.fetch(request, environment, ctx)).json<Record<string, unknown>>();
    };
    const phones = [uniquePhone(), uniquePhone(), uniquePhone()];
    for (const phone of phones) {
      const sent = await call("/send-otp", { phone });
      const verified = await call("/verify-otp", {
        phone,
        otp: fast2sms.codeTo(phone),
        verification_id: sent.verification_id,
      });
      expect(verified.access_token).toEqual(expect.any(String));
    }
    const read = () =>
      withEnv(environment, `/admin/stats?day=${day}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const first = await read();
    expect(first.body).toMatchObject({ sends: 3, verifications_succeeded: 3, numbers_sent: 3, numbers_verified: 3 });
    // Six events, at most one write per shard the three numbers fall in (and the read's 8 shard reads).
    const records = counter.calls().filter((c) => c.name === "STATS_COUNTER.record").length;
    expect(records).toBeGreaterThanOrEqual(1);
    expect(records).toBeLessThanOrEqual(3);
    await Promise.all(contexts.map((ctx) => waitOnExecutionContext(ctx)));
    expect((await read()).body).toMatchObject({ sends: 3, verifications_succeeded: 3, numbers_sent: 3 });
  }, 20_000);
});
