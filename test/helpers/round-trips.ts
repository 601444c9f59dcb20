import { env } from "cloudflare:workers";

/**
 * Counts sequential storage round trips by instrumenting the bindings: each
 * KV or Durable Object call records when it started and ended on one logical
 * clock; the longest chain of calls each starting after the previous one
 * ended is the number of round trips a request waits for one after another.
 * Calls made at the same time (Promise.all) count once.
 */
export function roundTripCounter() {
  let tick = 0;
  const calls: { name: string; start: number; end: number }[] = [];

  function record<T>(name: string, run: () => Promise<T>): Promise<T> {
    const call = { name, start: ++tick, end: Number.POSITIVE_INFINITY };
    calls.push(call);
    return run().finally(() => {
      call.end = ++tick;
    });
  }

  function wrapObject<T extends object>(target: T, label: string): T {
    return new Proxy(target, {
      get(t, prop: string) {
        const value = Reflect.get(t, prop) as unknown;
        if (typeof value !== "function") return value;
        // Call through the target (an RPC stub's methods cannot be .apply()-ed).
        const methods = t as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
        return (...args: unknown[]) => record(`${label}.${prop}`, () => methods[prop]!(...args));
      },
    });
  }

  function wrapNamespace<T extends DurableObjectNamespace<never>>(namespace: T, label: string): T {
    return new Proxy(namespace, {
      get(t, prop: string) {
        const value = Reflect.get(t, prop) as unknown;
        if (prop === "getByName") {
          return (name: string, options?: DurableObjectNamespaceGetDurableObjectOptions) =>
            wrapObject(t.getByName(name, options) as unknown as object, label);
        }
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(t) : value;
      },
    });
  }

  return {
    /** Settings overrides that route the app's storage through the counter. */
    bindings: {
      OTP_KV: wrapObject(env.OTP_KV, "kv"),
      PHONE_LIMITER: wrapNamespace(env.PHONE_LIMITER as DurableObjectNamespace<never>, "limiter"),
      QUOTA_COUNTER: wrapNamespace(env.QUOTA_COUNTER as DurableObjectNamespace<never>, "quota"),
      BUDGET_SHARD: wrapNamespace(env.BUDGET_SHARD as DurableObjectNamespace<never>, "budget"),
      RANGE_GUARD: wrapNamespace(env.RANGE_GUARD as DurableObjectNamespace<never>, "range"),
    },
    /** The calls recorded so far, in the order they started. */
    calls: () => calls.map((c) => c.name),
    /** Now, on the counter's clock: pass it to sequentialDepth to leave out the calls made after it. */
    mark: () => ++tick,
    /**
     * The longest chain of calls, each starting after the previous one ended;
     * with `until`, only calls that ended before it (the ones the answer
     * waited for, not work left to run after the response). `notWaitedFor`:
     * calls the request starts in the background and never awaits, which
     * may still end before the answer.
     */
    sequentialDepth(until = Number.POSITIVE_INFINITY, notWaitedFor: readonly string[] = []): number {
      const sorted = calls.filter((c) => c.end < until && !notWaitedFor.includes(c.name)).sort((a, b) => a.end - b.end);
      const depth = new Map<(typeof calls)[number], number>();
      for (const call of sorted) {
        let best = 0;
        for (const before of sorted) if (before.end < call.start) best = Math.max(best, depth.get(before) ?? 0);
        depth.set(call, best + 1);
      }
      return Math.max(0, ...depth.values());
    },
    reset(): void {
      calls.length = 0;
    },
  };
}
