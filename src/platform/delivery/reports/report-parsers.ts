import type { ReportParser } from "./delivery-report";
import { parseFast2SmsReport } from "./fast2sms-report";
import { parseMsg91Report } from "./msg91-report";
import { parseTwoFactorReport } from "./twofactor-report";

export type { DeliveryReport, ReportParser } from "./delivery-report";

/** The gateways that push delivery reports, and the parser of each one's webhook body. */
export type ReportingGateway = "fast2sms" | "msg91" | "twofactor";

/** Each gateway's delivery-report parser: the received body and its Content-Type in, reports out; never throws. */
export const reportParsers: Record<ReportingGateway, ReportParser> = {
  fast2sms: parseFast2SmsReport,
  msg91: parseMsg91Report,
  twofactor: parseTwoFactorReport,
};
