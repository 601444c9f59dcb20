import { env } from "cloudflare:workers";

/**
 * How an injected fault behaves: throw this error, never answer, or (`late`)
 * do the real call, so it commits, and hand its answer back only after
 * `afterMs`: a call that passes the caller's deadline and commits anyway.
 */
export type Fault = Error | "hang" | { late: number };

const act = (fault: Error | "hang"): Promise<never> =>
  fault === "hang" ? new Promise<never>(() => {}) : Promise.reject(fault);

/** Calls `real` now; its answer arrives `afterMs` later. */
async function late<T>(real: () => Promise<T>, afterMs: number): Promise<T> {
  const answer = await real();
  await new Promise((resolve) => setTimeout(resolve, afterMs));
  return answer;
}

/** The real OTP_KV with some methods failing. */
export function faultyKv(faults: Partial<Record<"get" | "put" | "delete", Fault>>): KVNamespace {
  const kv = env.OTP_KV;
  return new Proxy(kv, {
    get(target, prop: string) {
      const value = Reflect.get(target, prop) as unknown;
      const method =
        typeof value === "function" ? (value as (...a: unknown[]) => Promise<unknown>).bind(target) : undefined;
      const fault = faults[prop as keyof typeof faults];
      if (fault && method) {
        return (...args: unknown[]) =>
          typeof fault === "object" && "late" in fault ? late(() => method(...args), fault.late) : act(fault);
      }
      return method ?? value;
    },
  });
}

/**
 * A Durable Object namespace whose stubs (by name, or by id for objects
 * addressed by `idFromName`/`idFromString`) fail on the named RPC methods and
 * pass everything else through.
 */
export function faultyNamespace<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  faults: Record<string, Fault>,
): DurableObjectNamespace<T> {
  const faulty = (stub: unknown) =>
    new Proxy(stub as Record<string, (...args: unknown[]) => Promise<unknown>>, {
      get(target, prop: string) {
        const fault = faults[prop];
        const real = (...args: unknown[]) => target[prop]!(...args);
        if (fault === undefined) return real;
        return (...args: unknown[]) =>
          typeof fault === "object" && "late" in fault ? late(() => real(...args), fault.late) : act(fault);
      },
    });
  return {
    getByName: (name: string) => faulty(namespace.getByName(name)),
    get: (id: DurableObjectId) => faulty(namespace.get(id)),
    idFromName: (name: string) => namespace.idFromName(name),
    idFromString: (id: string) => namespace.idFromString(id),
  } as unknown as DurableObjectNamespace<T>;
}

/** What the runtime throws when a Durable Object is overloaded. */
export function overloaded(): Error {
  return Object.assign(new Error("Durable Object is overloaded. Requests queued for too long."), {
    overloaded: true,
    retryable: false,
  });
}
