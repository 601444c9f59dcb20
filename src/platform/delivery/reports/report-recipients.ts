import { bodyObjects, type Fields, isObject, messageIdOf, text } from "./delivery-report";
import type { ReportingGateway } from "./report-parsers";

/** Where each gateway's report names its message and its recipient. */
const FIELDS: Record<ReportingGateway, { id: string; to: readonly string[] }> = {
  fast2sms: { id: "request_id", to: ["mobile"] },
  msg91: { id: "requestId", to: ["telNum", "number", "mobile"] },
  twofactor: { id: "SessionId", to: ["To", "SmsTo"] },
};

/**
 * The number each report of a body is for, by its message id, as the
 * gateway wrote it (`mobile`, `telNum`, `To`: often without the `+`, or
 * without the country code), for the caller to normalise. Read from the
 * same fields the parsers read the ids from (reportParsers), including
 * MSG91's legacy form-encoded `data` (its `report[].number`). Never throws;
 * an id with no number is left out.
 */
export function reportRecipients(
  gateway: ReportingGateway,
  body: string,
  contentType: string | null,
): Map<string, string> {
  const found = new Map<string, string>();
  const { id, to } = FIELDS[gateway];
  const add = (rawId: unknown, fields: Fields) => {
    const messageId = messageIdOf(rawId);
    const number = to.map((name) => text(fields[name])).find((v) => v !== undefined);
    if (messageId !== undefined && number !== undefined && !found.has(messageId)) found.set(messageId, number);
  };
  try {
    for (const fields of bodyObjects(body, contentType)) {
      if (gateway === "msg91" && typeof fields.data === "string" && fields.requestId === undefined) {
        for (const request of legacyRequests(fields.data)) {
          const reports = Array.isArray(request.report) ? request.report.filter(isObject) : [];
          for (const r of reports) add(request.requestId, r);
        }
      } else add(fields[id], fields);
    }
  } catch {
    // A body nothing can be read from names no number.
  }
  return found;
}

function legacyRequests(data: string): Fields[] {
  try {
    const parsed: unknown = JSON.parse(data);
    return Array.isArray(parsed) ? parsed.filter(isObject) : [];
  } catch {
    return [];
  }
}
