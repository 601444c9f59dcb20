/**
 * Per-isolate caches: `make` runs once per key and its result is kept.
 * Objects (a settings object, an env) are held weakly, so a cache never keeps
 * alive what it is keyed by; strings (a secret, a script's text) strongly.
 */
export function memoizeByObject<K extends object, V>(make: (key: K) => V): (key: K) => V {
  const cache = new WeakMap<K, V>();
  return (key) => {
    if (cache.has(key)) return cache.get(key) as V;
    const value = make(key);
    cache.set(key, value);
    return value;
  };
}

export function memoizeByString<V>(make: (key: string) => V): (key: string) => V {
  const cache = new Map<string, V>();
  return (key) => {
    if (cache.has(key)) return cache.get(key) as V;
    const value = make(key);
    cache.set(key, value);
    return value;
  };
}
