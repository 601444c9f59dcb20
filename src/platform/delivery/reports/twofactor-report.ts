import { bodyObjects, type DeliveryReport, messageIdOf, report, safely, text } from "./delivery-report";

/** Final failures; a call's `USR_*` forms are failures too. */
const FAILED = new Set(["FAILED", "REJECTED"]);

/**
 * A 2Factor OTP callback: a form-encoded POST with `mode` (`SMS_OTP` or
 * `VOICE_OTP`), `SessionId`, `To` and `Status`; a call also has
 * `callDetailStatus`. `DELIVERED` is delivered; `FAILED` and `REJECTED` are
 * failed, and so is a call "delivered" to nobody: `DELIVERED (USR_BUSY)`,
 * `DELIVERED (USR_NOT_PICKD)`, `DELIVERED (USR_TMP_UNAVLBL)` or any other
 * `USR_*`, in `Status` or in `callDetailStatus`. The match key is `SessionId`.
 * A JSON body with the same fields is read too.
 */
export const parseTwoFactorReport = safely((body, contentType): DeliveryReport[] =>
  bodyObjects(body, contentType).flatMap((fields) => {
    const messageId = messageIdOf(fields.SessionId);
    const status = text(fields.Status)?.toUpperCase();
    if (messageId === undefined || status === undefined) return [];
    const detail = text(fields.callDetailStatus)?.toUpperCase();
    // A call's detail is the finer word: a "DELIVERED" call may still have failed.
    const failure = [status, detail].find((s) => s !== undefined && (/\bUSR_[A-Z_]+/.test(s) || FAILED.has(s)));
    if (failure !== undefined) return [report(messageId, "failed", failure, undefined)];
    if (status === "DELIVERED") return [report(messageId, "delivered", undefined, undefined)];
    return [];
  }),
);
