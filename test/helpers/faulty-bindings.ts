import { env } from "cloudflare:workers";

/** How an injected fault behaves: throw this error, or never answer. */
export type Fault = Error | "hang";

const act = (fault: Fault): Promise<never> => (fault === "hang" ? new Promise<never>(() => {}) : Promise.reject(fault));

/** The real OTP_KV with some methods failing. */
export function faultyKv(faults: Partial<Record<"get" | "put" | "delete", Fault>>): KVNamespace {
  const kv = env.OTP_KV;
  return new Proxy(kv, {
    get(target, prop: string) {
      const fault = faults[prop as keyof typeof faults];
      if (fault) return () => act(fault);
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** A Durable Object namespace whose stubs fail on the named RPC methods and pass everything else through. */
export function faultyNamespace<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  faults: Record<string, Fault>,
): DurableObjectNamespace<T> {
  return {
    getByName(name: string) {
      const stub = namespace.getByName(name) as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      return new Proxy(stub, {
        get(target, prop: string) {
          const fault = faults[prop];
          if (fault) return () => act(fault);
          return (...args: unknown[]) => target[prop]!(...args);
        },
      });
    },
  } as unknown as DurableObjectNamespace<T>;
}

/** What the runtime throws when a Durable Object is overloaded. */
export function overloaded(): Error {
  return Object.assign(new Error("Durable Object is overloaded. Requests queued for too long."), { overloaded: true, retryable: false });
}
