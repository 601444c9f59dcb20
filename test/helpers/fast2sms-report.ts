import { type ApiResponse, withEnv } from "./api";

/** Fast2SMS's delivery report for one message, as the operator's Standard Webhook posts it (docs/gateways.md). */
export function postFast2smsReport(
  environment: Env,
  secret: string,
  report: { messageId: string | undefined; phone: string; status: "delivered" | "failed" },
): Promise<ApiResponse> {
  return withEnv(environment, `/webhooks/fast2sms/${secret}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      request_id: report.messageId,
      mobile: report.phone.slice(3),
      status: report.status,
      failure_reason: "",
    }),
  });
}
