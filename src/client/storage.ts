/**
 * Where the client keeps its tokens and the last send's verification id.
 * Any key-value store works, sync or async: this interface, or an object with
 * getItem/setItem/removeItem (window.localStorage, React Native's AsyncStorage,
 * expo-secure-store's wrappers).
 */
export interface PhoneOtpStorage {
  get(key: string): string | null | undefined | Promise<string | null | undefined>;
  set(key: string, value: string): void | Promise<void>;
  remove(key: string): void | Promise<void>;
}

/** The Web Storage shape (localStorage, sessionStorage), which AsyncStorage shares. */
export interface ItemStorage {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
}

/** The default: tokens in memory only, gone when the page or app closes. */
export function memoryStorage(): PhoneOtpStorage {
  const items = new Map<string, string>();
  return {
    get: (key) => items.get(key),
    set: (key, value) => {
      items.set(key, value);
    },
    remove: (key) => {
      items.delete(key);
    },
  };
}

/** A PhoneOtpStorage over either shape. */
export function toStorage(storage: PhoneOtpStorage | ItemStorage | undefined): PhoneOtpStorage {
  if (storage === undefined) return memoryStorage();
  if ("getItem" in storage) {
    return {
      get: (key) => storage.getItem(key),
      set: (key, value) => storage.setItem(key, value),
      remove: (key) => storage.removeItem(key),
    };
  }
  return storage;
}

/** A JSON record under one key; anything unreadable counts as absent. */
export function jsonSlot<T>(storage: PhoneOtpStorage, key: string, valid: (value: unknown) => value is T) {
  return {
    async read(): Promise<T | undefined> {
      const text = await storage.get(key);
      if (typeof text !== "string") return undefined;
      try {
        const value: unknown = JSON.parse(text);
        return valid(value) ? value : undefined;
      } catch {
        return undefined;
      }
    },
    write: async (value: T) => storage.set(key, JSON.stringify(value)),
    clear: async () => storage.remove(key),
  };
}
