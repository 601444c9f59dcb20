import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type QuotaCounter, quotaCounterFor } from "../../src/platform/limiter/quota-counter";
import { setClock } from "../helpers/setup";

afterEach(() => vi.useRealTimers());

const hits = (key: string) =>
  runInDurableObject(
    env.QUOTA_COUNTER.getByName(key),
    (_: QuotaCounter, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM quota_hits").one().n,
  );

describe("QuotaCounter", () => {
  it("take is idempotent per ticket and refuses past the limit", async () => {
    const counter = quotaCounterFor(env.QUOTA_COUNTER, "test:idempotent");
    expect(await counter.take("t1", 2, 60_000)).toEqual({ outcome: "taken" });
    expect(await counter.take("t1", 2, 60_000)).toEqual({ outcome: "taken" });
    expect(await counter.take("t2", 2, 60_000)).toEqual({ outcome: "taken" });
    expect(await counter.take("t3", 2, 60_000)).toMatchObject({ outcome: "refused" });
    expect(await hits("test:idempotent")).toBe(2);
  });

  it("takeAll takes every count or none: a count at its limit refuses them all, each is given back on its own", async () => {
    const key = "test:take-all";
    const counter = quotaCounterFor(env.QUOTA_COUNTER, key);
    const both = (a: string, b: string) =>
      counter.takeAll([
        { ticket: a, limit: 2, windowMs: 60_000, counter: "" },
        { ticket: b, limit: 3, windowMs: 60_000, counter: "requests" },
      ]);
    expect(await both("s1", "r1")).toEqual([{ outcome: "taken" }, { outcome: "taken" }]);
    expect(await both("s1", "r1")).toEqual([{ outcome: "taken" }, { outcome: "taken" }]);
    expect(await both("s2", "r2")).toEqual([{ outcome: "taken" }, { outcome: "taken" }]);
    // The sends are at 2: nothing is taken, not even the request.
    const refused = await both("s3", "r3");
    expect(refused.map((r) => r.outcome)).toEqual(["refused", "refused"]);
    const named = () =>
      runInDurableObject(
        env.QUOTA_COUNTER.getByName(key),
        (_: QuotaCounter, state) =>
          state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM named_hits").one().n,
      );
    expect([await hits(key), await named()]).toEqual([2, 2]);
    await counter.release("s2", false);
    expect([await hits(key), await named()]).toEqual([1, 2]);
    await counter.release("r2", false);
    expect([await hits(key), await named()]).toEqual([1, 1]);
  });

  it("a release that arrives before its take leaves a tombstone: the late take takes nothing", async () => {
    const counter = quotaCounterFor(env.QUOTA_COUNTER, "test:tombstone");
    await counter.release("late");
    await counter.take("late", 5, 60_000);
    expect(await hits("test:tombstone")).toBe(0);
  });

  it("an alarm that fires after a newer take keeps that take (prunes by time)", async () => {
    const key = "test:alarm";
    const counter = quotaCounterFor(env.QUOTA_COUNTER, key);
    const start = Date.UTC(2033, 0, 1, 10, 0, 0);
    setClock(start);
    await counter.take("old", 5, 60_000);
    setClock(start + 50_000);
    await counter.take("new", 5, 60_000);
    // The alarm set by the first take fires after the second take.
    setClock(start + 61_000);
    expect(await runDurableObjectAlarm(env.QUOTA_COUNTER.getByName(key))).toBe(true);
    expect(await hits(key)).toBe(1);
    setClock(start + 111_000);
    await runDurableObjectAlarm(env.QUOTA_COUNTER.getByName(key));
    setClock(start + 3_700_000);
    await runDurableObjectAlarm(env.QUOTA_COUNTER.getByName(key));
    const left = await runInDurableObject(
      env.QUOTA_COUNTER.getByName(key),
      (_: QuotaCounter, state) =>
        state.storage.sql
          .exec<{ n: number }>(
            "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'",
          )
          .one().n,
    );
    expect(left).toBe(0);
  });
});
