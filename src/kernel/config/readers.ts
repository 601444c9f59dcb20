import { type CountryCode, isSupportedCountry } from "libphonenumber-js/mobile";
import * as z from "zod/mini";
import { estimateTokenBits } from "./token-entropy";

/**
 * How a setting is read: one reader per kind of value, each a zod schema
 * over the environment's string (tests may bind numbers) whose output is the
 * value modules receive, with its default when the setting is not set, and
 * the group that gathers a concern's settings. The groups are in groups.ts
 * and gateways.ts; settings.ts loads them.
 *
 * Messages here never include a value: a misconfiguration names the setting only.
 */

/** A problem with one setting, named by the setting. */
export interface Issue {
  name: string;
  message: string;
}

const MIN_SECRET_BYTES = 32;

/** What a setting's reader returns when the value is bad (after `problem` recorded why). */
const BAD = z.NEVER;

/**
 * A setting read from the environment's string (tests may bind numbers):
 * `read` turns the raw value into the setting, or calls `problem` with a
 * message that names what is expected, never the value, and returns BAD.
 */
export function setting<T>(read: (raw: string | undefined, problem: (message: string) => typeof BAD) => T) {
  return z.pipe(
    z.optional(z.union([z.string(), z.number()])),
    z.transform((raw: string | number | undefined, payload) =>
      read(raw === undefined ? undefined : String(raw), (message) => {
        payload.issues.push({ code: "custom", message, input: raw });
        return BAD;
      }),
    ),
  );
}

export const csv = (v: string | undefined) =>
  (v ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

const isBlank = (v: string | undefined): v is undefined => v === undefined || v.trim() === "";

/** Whether `value` is one of `values` (and then typed as one). */
export const isOneOf = <T extends string>(values: readonly T[], value: string): value is T =>
  values.some((v) => v === value);

/** `a, b or c`: how a message lists the allowed values. */
export const either = (values: readonly string[]) =>
  values.length < 2 ? values.join("") : `${values.slice(0, -1).join(", ")} or ${values.at(-1)}`;

export const int = (min: number, max: number, fallback: number) =>
  setting((raw, problem) => {
    if (isBlank(raw)) return fallback;
    const n = Number(raw.trim());
    return Number.isInteger(n) && n >= min && n <= max ? n : problem(`must be a whole number from ${min} to ${max}`);
  });

export const bool = (fallback: boolean) =>
  setting((raw, problem) => {
    if (isBlank(raw)) return fallback;
    const v = raw.trim().toLowerCase();
    if (v === "true") return true;
    if (v === "false") return false;
    return problem("must be true or false");
  });

export const text = (fallback: string) => setting((v) => (isBlank(v) ? fallback : v.trim()));

export const optionalText = setting((v) => (isBlank(v) ? undefined : v.trim()));

const longEnough = (v: string) => new TextEncoder().encode(v).byteLength >= MIN_SECRET_BYTES;

export const secret = setting((v, problem) => {
  if (v === undefined || v === "") return problem("is missing");
  return longEnough(v) ? v : problem(`must be at least ${MIN_SECRET_BYTES} bytes`);
});

/** Like `secret`, but may be absent (its presence is required by a dependent check). */
export const optionalSecret = setting((v, problem) => {
  if (v === undefined || v === "") return undefined;
  return longEnough(v) ? v : problem(`must be at least ${MIN_SECRET_BYTES} bytes`);
});

/** Bits of randomness ADMIN_TOKEN must show (estimateTokenBits): it is the one lock on /admin. */
const MIN_ADMIN_TOKEN_BITS = 128;

/** Like `optionalSecret`, and refused when it looks typed rather than random (repeats, runs, few distinct characters). */
export const adminToken = setting((v, problem) => {
  if (v === undefined || v === "") return undefined;
  const make = "make one with `openssl rand -base64 32`";
  if (!longEnough(v)) return problem(`must be at least ${MIN_SECRET_BYTES} bytes; ${make}`);
  if (estimateTokenBits(v) < MIN_ADMIN_TOKEN_BITS) {
    return problem(
      `looks guessable (repeated or sequential characters, or too few distinct ones) and must be random, at least ${MIN_ADMIN_TOKEN_BITS} bits; ${make}`,
    );
  }
  return v;
});

/**
 * A secret that is part of a URL (DELIVERY_WEBHOOK_SECRET: gateways post to
 * /webhooks/{gateway}/{secret}): random like ADMIN_TOKEN, since nothing
 * counts a stranger's wrong guesses at it, and URL-safe, so it matches its
 * route as written.
 */
export const urlSecret = setting((v, problem) => {
  if (v === undefined || v === "") return undefined;
  const make = "make one with `openssl rand -hex 32`";
  if (!longEnough(v)) return problem(`must be at least ${MIN_SECRET_BYTES} bytes; ${make}`);
  if (!/^[A-Za-z0-9_-]+$/.test(v))
    return problem(`must use only letters, digits, - and _ (it is part of a URL); ${make}`);
  if (estimateTokenBits(v) < MIN_ADMIN_TOKEN_BITS) {
    return problem(`looks guessable and must be random, at least ${MIN_ADMIN_TOKEN_BITS} bits; ${make}`);
  }
  return v;
});

/** A JSON value in a string setting; the message never quotes the value. */
export const json = <T extends z.ZodMiniType>(schema: T, what: string) =>
  setting((v, problem): z.output<T> | undefined => {
    if (isBlank(v)) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(v);
    } catch {
      return problem(`is not valid JSON (expected ${what})`);
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) return problem(`is not ${what}: ${parsed.error.issues[0]?.message ?? "invalid"}`);
    return parsed.data;
  });

/** `+919999999999:123456,+918888888888:654321`: numbers and their fixed codes (checked against the other settings in loadSettings). */
export const testNumbers = setting((v, problem) => {
  const out: { phone: string; code: string }[] = [];
  for (const entry of csv(v)) {
    const match = /^(.+):([0-9]{4,10})$/.exec(entry);
    if (!match) return problem("must be a comma-separated list of number:code pairs");
    out.push({ phone: match[1]!.trim(), code: match[2]! });
  }
  return out;
});

export const oneOf = <const T extends string>(values: readonly T[], fallback: T) =>
  setting((v, problem): T => {
    if (isBlank(v)) return fallback;
    const value = v.trim();
    return isOneOf(values, value) ? value : problem(`must be ${either(values)}`);
  });

export const countries = setting((v, problem): readonly CountryCode[] => {
  const list = csv(v ?? "IN").map((c) => c.toUpperCase());
  const supported = list.filter((c) => isSupportedCountry(c));
  if (list.length === 0 || supported.length !== list.length) {
    return problem("must be a comma-separated list of ISO 3166 country codes");
  }
  return supported;
});

export const origins = setting((v, problem): readonly string[] => {
  const list = csv(v);
  for (const origin of list) {
    if (origin === "*") continue;
    let valid = false;
    try {
      valid = new URL(origin).origin === origin;
    } catch {
      /* not a URL */
    }
    if (!valid) return problem("must be * or a comma-separated list of origins like https://app.example.com");
  }
  return list;
});

export const httpUrl = (fallback: string) =>
  setting((v, problem) => {
    const raw = isBlank(v) ? fallback : v.trim();
    try {
      const url = new URL(raw);
      if (url.protocol === "https:" || url.protocol === "http:") return url.href.replace(/\/+$/, "");
    } catch {
      /* not a URL */
    }
    return problem("must be an http(s) URL");
  });

/** Where Cloudflare may place a Durable Object. */
const LOCATION_HINTS = [
  "apac",
  "wnam",
  "enam",
  "sam",
  "weur",
  "eeur",
  "oc",
  "afr",
  "me",
] as const satisfies readonly DurableObjectLocationHint[];

/** A Durable Object's location hint, or `none` (undefined: wherever it is first used). */
export const locationHint = (fallback: (typeof LOCATION_HINTS)[number]) =>
  setting((v, problem): DurableObjectLocationHint | undefined => {
    const value = isBlank(v) ? fallback : v.trim();
    if (value === "none") return undefined;
    return isOneOf(LOCATION_HINTS, value) ? value : problem(`must be ${either([...LOCATION_HINTS, "none"])}`);
  });

/** `55836,45609`: autonomous system numbers. */
export const asnList = (fallback: string) =>
  setting((v, problem): readonly number[] => {
    const list = csv(isBlank(v) ? fallback : v);
    if (!list.every((a) => /^[0-9]{1,10}$/.test(a))) return problem("must be a comma-separated list of AS numbers");
    return list.map(Number);
  });

/**
 * `+919876543210,+91987654*`: E.164 numbers, and ranges written with a
 * trailing `*` (every number that starts with the digits before it).
 */
export const numberList = setting((v, problem): { numbers: readonly string[]; prefixes: readonly string[] } => {
  const list = csv(v);
  if (!list.every((e) => /^\+[1-9][0-9]{3,14}\*?$/.test(e))) {
    return problem("must be a comma-separated list of E.164 numbers and ranges ending in * (+91987654*)");
  }
  return {
    numbers: list.filter((e) => !e.endsWith("*")),
    prefixes: list.filter((e) => e.endsWith("*")).map((e) => e.slice(0, -1)),
  };
});

/** The Android SMS Retriever hash: 11 characters of base64 (no padding). */
export const appHash = setting((v, problem) => {
  if (isBlank(v)) return undefined;
  return /^[A-Za-z0-9+/]{11}$/.test(v.trim()) ? v.trim() : problem("must be the app's 11-character SMS Retriever hash");
});

/** A host name such as otp.example.com (no scheme, port or path), lower-cased. */
export const host = setting((v, problem) => {
  if (isBlank(v)) return undefined;
  const name = v.trim().toLowerCase();
  const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
  const labels = name.split(".");
  const valid = name.length <= 253 && labels.length >= 2 && labels.every((l) => label.test(l));
  return valid ? name : problem("must be a host name such as otp.example.com (no scheme, port or path)");
});

/**
 * A group of settings: the variables it reads (each written once, with its
 * default in its reader) and how they become what modules receive, plus the
 * checks that concern only this group.
 */
export interface Group<T> {
  /** The variables it reads, by name (docs/settings.md's table is checked against them). */
  readonly shape: Readonly<Record<string, z.ZodMiniType>>;
  /** What modules receive, or undefined when a variable is bad (its problems are pushed to `issues`). */
  read(env: object, issues: Issue[]): { value: T } | undefined;
}

export function group<S extends Record<string, z.ZodMiniType>, T>(
  shape: S,
  build: (env: z.output<z.ZodMiniObject<S>>) => T,
  check?: (value: T, env: z.output<z.ZodMiniObject<S>>) => Issue[],
): Group<T> {
  const schema = z.object(shape);
  return {
    shape,
    read(env, issues) {
      const result = schema.safeParse(env);
      if (!result.success) {
        issues.push(...result.error.issues.map((i) => ({ name: String(i.path[0]), message: i.message })));
        return undefined;
      }
      const value = build(result.data);
      if (check) issues.push(...check(value, result.data));
      return { value };
    },
  };
}

/** Every group of `groups` read from the environment: those that parsed (the others pushed their problems to `issues`). */
export function readGroups<O>(
  groups: { readonly [K in keyof O]: Group<O[K]> },
  env: object,
  issues: Issue[],
): Partial<O> {
  const parsed: Partial<O> = {};
  for (const key in groups) {
    const result = groups[key].read(env, issues);
    if (result) parsed[key] = result.value;
  }
  return parsed;
}

/** Whether every group of `groups` parsed (a group whose value is undefined parsed too: it is set, to undefined). */
export function allParsed<O>(parsed: Partial<O>, groups: { readonly [K in keyof O]: unknown }): parsed is O {
  return Object.keys(groups).every((key) => key in parsed);
}

/** What each group of `groups` gives modules, by the group's name. */
export type GroupValues<G> = { [K in keyof G]: G[K] extends Group<infer T> ? T : never };
