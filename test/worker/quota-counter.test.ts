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

describe("QuotaCounter holds: pending hits that lapse unless confirmed", () => {
  const HOUR = 3_600_000;
  const LAPSE = 20_000;
  const start = Date.UTC(2034, 0, 1, 10, 0, 0);

  it("a pending hit counts until it lapses, then stops counting by itself", async () => {
    const counter = quotaCounterFor(env.QUOTA_COUNTER, "test:hold-lapses");
    setClock(start);
    expect(await counter.hold("h1", 1, HOUR, LAPSE)).toEqual({ outcome: "taken" });
    // While pending it holds the slot, and the refusal says when the lapse frees it.
    setClock(start + 5_000);
    expect(await counter.hold("h2", 1, HOUR, LAPSE)).toEqual({ outcome: "refused", retryAfterMs: LAPSE - 5_000 });
    setClock(start + LAPSE);
    expect(await counter.hold("h2", 1, HOUR, LAPSE)).toEqual({ outcome: "taken" });
  });

  it("a confirmed hit counts for its whole window", async () => {
    const counter = quotaCounterFor(env.QUOTA_COUNTER, "test:hold-confirmed");
    setClock(start);
    await counter.hold("h1", 1, HOUR, LAPSE);
    await counter.confirm("h1");
    setClock(start + LAPSE + 1);
    expect(await counter.hold("h2", 1, HOUR, LAPSE)).toEqual({ outcome: "refused", retryAfterMs: HOUR - LAPSE - 1 });
    setClock(start + HOUR);
    expect(await counter.hold("h2", 1, HOUR, LAPSE)).toEqual({ outcome: "taken" });
  });

  it("a confirm that arrives after the lapse still counts the hit, for the rest of its window", async () => {
    const counter = quotaCounterFor(env.QUOTA_COUNTER, "test:hold-late-confirm");
    setClock(start);
    await counter.hold("h1", 2, HOUR, LAPSE);
    setClock(start + 10 * LAPSE);
    await counter.confirm("h1");
    await counter.confirm("h1");
    expect(await counter.hold("h2", 2, HOUR, LAPSE)).toEqual({ outcome: "taken" });
    await counter.confirm("h2");
    expect(await counter.hold("h3", 2, HOUR, LAPSE)).toMatchObject({ outcome: "refused" });
  });

  it("a hold is idempotent per ticket, lapsed or not, and one given back before it arrives takes nothing", async () => {
    const key = "test:hold-idempotent";
    const counter = quotaCounterFor(env.QUOTA_COUNTER, key);
    setClock(start);
    await counter.hold("h1", 5, HOUR, LAPSE);
    await counter.hold("h1", 5, HOUR, LAPSE);
    setClock(start + 2 * LAPSE);
    // Arriving again after its lapse, it is known: it neither counts anew nor takes a second row.
    await counter.hold("h1", 5, HOUR, LAPSE);
    expect(await hits(key)).toBe(1);
    await counter.release("late");
    await counter.hold("late", 5, HOUR, LAPSE);
    // A confirm of a ticket that was given back (or never taken) writes nothing.
    await counter.confirm("late");
    await counter.confirm("never");
    expect(await hits(key)).toBe(1);
  });

  it("concurrent holds never exceed the limit: pending hits count", async () => {
    const counter = quotaCounterFor(env.QUOTA_COUNTER, "test:hold-burst");
    setClock(start);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => counter.hold(`b${i}`, 5, HOUR, LAPSE)));
    expect(results.filter((r) => r.outcome === "taken")).toHaveLength(5);
  });

  it("take and takeAll skip lapsed hits too, and the alarm prunes lapsed rows with their window", async () => {
    const key = "test:hold-alarm";
    const counter = quotaCounterFor(env.QUOTA_COUNTER, key);
    setClock(start);
    await counter.hold("h1", 1, HOUR, LAPSE);
    expect(await counter.take("t1", 1, HOUR)).toMatchObject({ outcome: "refused" });
    setClock(start + LAPSE);
    expect(await counter.takeAll([{ ticket: "t1", limit: 1, windowMs: HOUR, counter: "" }])).toEqual([
      { outcome: "taken" },
    ]);
    expect(await hits(key)).toBe(2);
    // The lapsed hold goes when its window ends, not before; the take after it stays.
    setClock(start + HOUR - 1);
    await runDurableObjectAlarm(env.QUOTA_COUNTER.getByName(key));
    expect(await hits(key)).toBe(2);
    setClock(start + HOUR);
    await runDurableObjectAlarm(env.QUOTA_COUNTER.getByName(key));
    expect(await hits(key)).toBe(1);
  });

  it("rows written before lapses_at existed keep counting for their whole window", async () => {
    const key = "test:hold-migration";
    setClock(start);
    await runInDurableObject(env.QUOTA_COUNTER.getByName(key), (_: QuotaCounter, state) => {
      state.storage.sql.exec(
        "CREATE TABLE quota_hits (ticket TEXT PRIMARY KEY, at INTEGER NOT NULL, window_ms INTEGER NOT NULL)",
      );
      state.storage.sql.exec("INSERT INTO quota_hits VALUES ('old', ?, ?)", start, HOUR);
    });
    const counter = quotaCounterFor(env.QUOTA_COUNTER, key);
    setClock(start + 2 * LAPSE);
    expect(await counter.hold("h1", 1, HOUR, LAPSE)).toEqual({ outcome: "refused", retryAfterMs: HOUR - 2 * LAPSE });
  });
});
