import { maskPhone, maskPhonesIn } from "../phone/mask-phone";
import { LOG_CATALOG, type LogEvent, type LogEvents, type LoggedPhone } from "./log-catalog";

export {
  type AdminLogFields,
  type GatewayFailureFields,
  gatewayFailureFields,
  type LogEvent,
  type LogEvents,
  type LoggedPhone,
} from "./log-catalog";

/**
 * Writes one event as one JSON line, `{"event":"<name>",...fields}`, at the
 * level its catalog entry gives (log-catalog.ts). Whatever the caller passes,
 * phone numbers (`to`, `phone`) are written masked, an `error` as
 * describeError's text, and free text (`reason`, `path`) with anything that
 * looks like a number masked. Undefined fields are left out.
 */
export function log<E extends LogEvent>(event: E, fields: LogEvents[E]): void {
  const line = JSON.stringify({ event, ...redact(fields) });
  const level = LOG_CATALOG[event];
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/** How long describeError's text may be: enough for a name and a message, not for a dumped body. */
const MAX_ERROR_TEXT = 300;

/** A run this long of token characters (a JWT's dots too) is taken for a key, token or hash and never written. */
const OPAQUE_RUN = /[A-Za-z0-9+/_=.-]{32,}/g;

/**
 * An error as log text: `Name: message` (a thrown non-Error as its string),
 * never its stack. Anything that looks like a phone number is masked, and
 * long opaque runs (keys, tokens, hashes a message might quote) are replaced,
 * so the text can go in any log line.
 */
export function describeError(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  const clean = maskPhonesIn(text.replace(OPAQUE_RUN, "[redacted]"));
  return clean.length > MAX_ERROR_TEXT ? `${clean.slice(0, MAX_ERROR_TEXT)}…` : clean;
}

function redact(fields: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) out[key] = redactField(key, value);
  }
  return out;
}

function redactField(key: string, value: unknown): unknown {
  switch (key) {
    case "to":
    case "phone":
      return isLoggedPhone(value) ? maskPhone(typeof value === "string" ? value : value.e164) : "[not a number]";
    case "error":
      return describeError(value);
    case "reason":
    case "path":
      return typeof value === "string" ? maskPhonesIn(value) : value;
  }
  if (Array.isArray(value)) return value.map((v) => (isObject(v) ? redact(v) : v));
  return isObject(value) ? redact(value) : value;
}

function isLoggedPhone(value: unknown): value is LoggedPhone {
  return typeof value === "string" || (isObject(value) && "e164" in value && typeof value.e164 === "string");
}

function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null;
}
