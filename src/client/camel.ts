/** snake_case on the wire, camelCase for the app: the type of a converted answer, and the conversion. */

type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

/** `T` with every key camelCased, deeply (arrays and nested objects too). */
export type Camel<T> = T extends readonly (infer Item)[]
  ? Camel<Item>[]
  : T extends object
    ? { [K in keyof T as K extends string ? CamelCase<K> : K]: Camel<T[K]> }
    : T;

const camelKey = (key: string) => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** Converts a JSON value's keys to camelCase, deeply. */
export function camel<T>(value: T): Camel<T> {
  if (Array.isArray(value)) return value.map((item) => camel(item)) as Camel<T>;
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[camelKey(key)] = camel(item);
    return out as Camel<T>;
  }
  return value as Camel<T>;
}
