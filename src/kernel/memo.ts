/**
 * Per-isolate caches: `make` runs once per key and its result is kept.
 * Objects (a settings object, an env) are held weakly, so a cache never keeps
 * alive what it is keyed by; strings (a secret, a script's text) strongly.
 */
export function memoizeByObject<K extends object, V>(make: (key: K) => V): (key: K) => V {
  return memoizeIn(new WeakMap<K, V>(), make);
}

export function memoizeByString<V>(make: (key: string) => V): (key: string) => V {
  return memoizeIn(new Map<string, V>(), make);
}

function memoizeIn<K, V>(
  cache: { has(key: K): boolean; get(key: K): V | undefined; set(key: K, value: V): unknown },
  make: (key: K) => V,
): (key: K) => V {
  return (key) => {
    if (cache.has(key)) return cache.get(key) as V;
    const value = make(key);
    cache.set(key, value);
    return value;
  };
}
