import {
  bodyObjects,
  cleanReason,
  type DeliveryReport,
  type Fields,
  isObject,
  messageIdOf,
  report,
  safely,
  text,
  timeOf,
} from "./delivery-report";

/** MSG91's report status codes and words (legacy webhook table; the words as Webhook (New) is expected to send them). */
const DELIVERED = new Set(["1", "delivered"]);
const FAILED = new Set(["2", "9", "16", "17", "25", "26", "failed", "rejected"]);

/** What a status code means when MSG91 sent no failure reason of its own. */
const CODE_REASONS: Record<string, string> = {
  "2": "failed",
  "9": "NDNC",
  "16": "rejected",
  "17": "blocked number",
  "25": "rejected",
  "26": "rejected",
};

/**
 * An MSG91 delivery report. The main form is the OTP "Webhook (New)", event
 * "On Report Received": JSON with the fields the operator picked,
 *
 *   {"requestId":"…","telNum":"…","status":"…","failureReason":"…","CRQID":"…","deliveryTime":"…"}
 *
 * one object per recipient (an array of them is read too). The flat legacy v3
 * form has the same `requestId` and `status`, and the legacy v2 form
 * (form-encoded `data` holding a JSON array of `{requestId, report: [...]}`)
 * is unwrapped. `status` `1`/`Delivered` is delivered; `2`, `9`, `16`, `17`,
 * `25`, `26`, `Failed`, `Rejected` are failed; anything else is not final.
 * The match key is `requestId`.
 */
export const parseMsg91Report = safely((body, contentType): DeliveryReport[] =>
  bodyObjects(body, contentType).flatMap((fields) => {
    if (typeof fields.data === "string" && fields.requestId === undefined) return legacyV2(fields.data);
    return one(fields.requestId, fields);
  }),
);

function one(requestId: unknown, fields: Fields): DeliveryReport[] {
  const messageId = messageIdOf(requestId);
  const raw = text(fields.status);
  const status = raw?.toLowerCase();
  if (messageId === undefined || status === undefined) return [];
  const at = timeOf(fields.deliveryTime ?? fields.date);
  if (DELIVERED.has(status)) return [report(messageId, "delivered", undefined, at)];
  if (!FAILED.has(status)) return [];
  const reason = cleanReason(fields.failureReason) ?? cleanReason(fields.failedReason) ?? CODE_REASONS[status] ?? raw;
  return [report(messageId, "failed", reason, at)];
}

function legacyV2(data: string): DeliveryReport[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.filter(isObject).flatMap((request) => {
    const reports = Array.isArray(request.report) ? request.report.filter(isObject) : [];
    return reports.flatMap((r) => one(request.requestId, r));
  });
}
