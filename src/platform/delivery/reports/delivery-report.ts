/**
 * What a gateway's delivery report (DLR) says about one message, in one
 * shape for every gateway. A parser turns a received body into zero or more
 * of these; an empty list means "not a report" (garbage, a status that is
 * not final, or a body of another kind) and is never an error, so a webhook
 * can always answer 200 and a gateway never retries a body it cannot use.
 */
export interface DeliveryReport {
  /** The gateway's id of the send: Fast2SMS `request_id`, MSG91 `requestId`, 2Factor `SessionId`. */
  messageId: string;
  status: "delivered" | "failed";
  /**
   * On a failure, the gateway's own words (its failure reason, else its
   * status value), cut to REASON_MAX_LENGTH and stripped of control
   * characters. Vendor text: classify it (dlt-reasons.ts) before logging it.
   */
  reason?: string;
  /** When the gateway says it happened, in ms since the epoch, only when the body states it unambiguously. */
  at?: number;
}

/** Parses one gateway's webhook body; never throws. */
export type ReportParser = (body: string, contentType: string | null) => DeliveryReport[];

export const REASON_MAX_LENGTH = 200;

/** The longest id a report may carry; anything longer is not one of ours. */
const ID_MAX_LENGTH = 200;

export type Fields = Record<string, unknown>;

export function isObject(v: unknown): v is Fields {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The body as a list of field objects: a JSON object or array of objects, or form fields. Garbage is []. */
export function bodyObjects(body: string, contentType: string | null): Fields[] {
  if (/application\/x-www-form-urlencoded/i.test(contentType ?? "")) {
    return [Object.fromEntries(new URLSearchParams(body))];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  if (Array.isArray(parsed)) return parsed.filter(isObject);
  return isObject(parsed) ? [parsed] : [];
}

/** A string or number field as trimmed text; anything else is undefined. */
export function text(v: unknown): string | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  if (typeof v !== "string") return undefined;
  const t = v.trim();
  return t === "" ? undefined : t;
}

/** A usable message id: non-empty, printable, not absurdly long. */
export function messageIdOf(v: unknown): string | undefined {
  const id = text(v);
  return id !== undefined && id.length <= ID_MAX_LENGTH && !/\p{Cc}/u.test(id) ? id : undefined;
}

/** Vendor text made safe to store: no control characters, bounded length. */
export function cleanReason(v: unknown): string | undefined {
  const t = text(v)
    ?.replace(/\p{Cc}+/gu, " ")
    .trim();
  return t ? t.slice(0, REASON_MAX_LENGTH) : undefined;
}

/**
 * A time stated without ambiguity: Unix seconds or milliseconds (a number or
 * a string of digits), or an ISO 8601 date-time with a zone. A local time
 * without a zone ("2024-05-22 10:06:20") is left out: its zone is not documented.
 */
export function timeOf(v: unknown): number | undefined {
  const t = text(v);
  if (t === undefined) return undefined;
  if (/^\d{9,13}$/.test(t)) {
    const n = Number(t);
    return n < 1e12 ? n * 1000 : n;
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(t)) {
    const ms = Date.parse(t);
    return Number.isFinite(ms) ? ms : undefined;
  }
  return undefined;
}

/** Drops a report already in the list with the same id and status (one body may repeat itself). */
export function distinct(reports: DeliveryReport[]): DeliveryReport[] {
  const seen = new Set<string>();
  return reports.filter((r) => {
    const key = `${r.status}\u0000${r.messageId}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Builds a report, leaving out empty optional fields, so equal reports compare equal. */
export function report(
  messageId: string,
  status: DeliveryReport["status"],
  reason: string | undefined,
  at: number | undefined,
): DeliveryReport {
  return {
    messageId,
    status,
    ...(status === "failed" && reason !== undefined ? { reason } : {}),
    ...(at !== undefined ? { at } : {}),
  };
}

/** Runs a parser so that nothing it meets can make it throw. */
export function safely(parse: ReportParser): ReportParser {
  return (body, contentType) => {
    try {
      return typeof body === "string" ? distinct(parse(body, contentType)) : [];
    } catch {
      return [];
    }
  };
}
