import { env } from "cloudflare:workers";

/**
 * Counts every storage call a request makes, by wrapping every KV namespace
 * and Durable Object namespace binding of the environment, found by their
 * shape rather than by name: a binding added later is counted without a
 * change here. Work left to run after the response (waitUntil) is counted
 * too, once the caller has waited for it. With `delays`, each call is also
 * held for the time a call of its kind takes at the edge (the latency
 * simulation, test/worker/edge-latency.test.ts).
 */
export interface StorageCall {
  /** `<BINDING>.<method>`, e.g. `PHONE_LIMITER.reserveSend`, `OTP_KV.put`. */
  name: string;
  kind: "kv-read" | "kv-write" | "do";
}

/** Milliseconds a wrapped call waits before it is made, by kind; `kvRead` may vary per call (hot or cold). */
export interface CallDelays {
  doCall: number;
  kvWrite: number;
  kvRead: () => number;
}

const KV_READS = new Set(["get", "getWithMetadata", "list"]);

type AnyFn = (...a: unknown[]) => unknown;
const isFn = (x: unknown): x is AnyFn => typeof x === "function";

/** A Durable Object namespace: it makes ids and stubs. */
export function isDurableObjectNamespace(x: unknown): x is DurableObjectNamespace {
  const o = x as Record<string, unknown> | null;
  return typeof o === "object" && o !== null && isFn(o.idFromName) && isFn(o.get);
}

/** A KV namespace: get, put, delete, list and getWithMetadata. */
export function isKvNamespace(x: unknown): x is KVNamespace {
  const o = x as Record<string, unknown> | null;
  return (
    typeof o === "object" &&
    o !== null &&
    isFn(o.getWithMetadata) &&
    isFn(o.put) &&
    isFn(o.delete) &&
    isFn(o.list) &&
    !isFn(o.idFromName)
  );
}

const sleep = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());

export function storageCallCounter(delays?: CallDelays) {
  const calls: StorageCall[] = [];

  function record<T>(call: StorageCall, run: () => T): T | Promise<Awaited<T>> {
    calls.push(call);
    if (!delays) return run();
    const ms = call.kind === "do" ? delays.doCall : call.kind === "kv-write" ? delays.kvWrite : delays.kvRead();
    return sleep(ms).then(() => run() as Awaited<T>);
  }

  function wrapKv(kv: KVNamespace, binding: string): KVNamespace {
    return new Proxy(kv, {
      get(t, prop: string) {
        const value = Reflect.get(t, prop) as unknown;
        if (!isFn(value)) return value;
        const kind = KV_READS.has(prop) ? "kv-read" : "kv-write";
        return (...args: unknown[]) => record({ name: `${binding}.${prop}`, kind }, () => value.apply(t, args));
      },
    });
  }

  function wrapStub(stub: object, binding: string): object {
    return new Proxy(stub, {
      get(t, prop: string) {
        const value = Reflect.get(t, prop) as unknown;
        if (!isFn(value)) return value;
        // Call through the target (an RPC stub's methods cannot be .apply()-ed).
        const methods = t as unknown as Record<string, AnyFn>;
        return (...args: unknown[]) =>
          record({ name: `${binding}.${prop}`, kind: "do" }, () => methods[prop]!(...args));
      },
    });
  }

  function wrapNamespace(ns: DurableObjectNamespace, binding: string): DurableObjectNamespace {
    return new Proxy(ns, {
      get(t, prop: string) {
        const value = Reflect.get(t, prop) as unknown;
        if (prop === "get" || prop === "getByName") {
          return (...args: unknown[]) => wrapStub((value as AnyFn).apply(t, args) as object, binding);
        }
        return isFn(value) ? value.bind(t) : value;
      },
    });
  }

  /** Every KV and Durable Object binding of `base`, wrapped; the other bindings and the settings as they are. */
  function bindings(base: Record<string, unknown> = env as unknown as Record<string, unknown>) {
    const wrapped: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(base)) {
      if (isDurableObjectNamespace(value)) wrapped[name] = wrapNamespace(value, name);
      else if (isKvNamespace(value)) wrapped[name] = wrapKv(value, name);
    }
    return wrapped;
  }

  return {
    bindings,
    /** The calls recorded so far, in the order they were made. */
    calls: (): readonly StorageCall[] => [...calls],
    reset(): void {
      calls.length = 0;
    },
  };
}
