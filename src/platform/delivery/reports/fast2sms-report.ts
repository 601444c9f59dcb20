import {
  bodyObjects,
  cleanReason,
  type DeliveryReport,
  messageIdOf,
  report,
  safely,
  text,
  timeOf,
} from "./delivery-report";

/**
 * A Fast2SMS "Standard Webhook" body. Its payload is whatever the operator
 * typed in the dashboard, so this reads the variables by their documented
 * names and ignores everything else:
 *
 *   {"request_id":"{{request_id}}","mobile":"{{mobile}}","status":"{{status}}",
 *    "failure_reason":"{{failure_reason}}","delivery_time":"{{delivery_time}}"}
 *
 * as JSON (one object, or an array of them) or form-encoded. `status` is
 * `delivered` or `failed` in any case; anything else is not a final report.
 * The match key is `request_id`, the id bulkV2 answered with.
 */
export const parseFast2SmsReport = safely((body, contentType): DeliveryReport[] =>
  bodyObjects(body, contentType).flatMap((fields) => {
    const messageId = messageIdOf(fields.request_id);
    const status = text(fields.status)?.toLowerCase();
    if (messageId === undefined || (status !== "delivered" && status !== "failed")) return [];
    const at = timeOf(fields.delivery_timestamp ?? fields.delivery_time);
    return [
      report(messageId, status, cleanReason(fields.failure_reason) ?? (status === "failed" ? "failed" : undefined), at),
    ];
  }),
);
