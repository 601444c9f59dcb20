/**
 * The console gateway's outbox: the last few messages, in this isolate's
 * memory only, readable at GET /dev/outbox while SMS_PROVIDER is console.
 * It exists so a developer can finish the flow without a phone.
 */
export interface OutboxEntry {
  to: string;
  text: string;
  sent_at: string;
  channel: "sms" | "voice";
  /** pending until the console gateway's made-up delivery report is recorded on the number (CONSOLE_DELIVERY). */
  status: "pending" | "delivered" | "failed";
}

const LIMIT = 50;
const entries: (OutboxEntry & { messageId: string })[] = [];

export function addToOutbox(entry: OutboxEntry & { messageId: string }): void {
  entries.unshift(entry);
  entries.length = Math.min(entries.length, LIMIT);
}

/** The message's report was recorded on its number: the outbox shows its new status. */
export function markOutbox(messageId: string, status: OutboxEntry["status"]): void {
  for (const e of entries) if (e.messageId === messageId) e.status = status;
}

/** Newest first; only messages to `to` when given. */
export function readOutbox(to?: string): OutboxEntry[] {
  return entries.filter((e) => to === undefined || e.to === to).map(({ messageId: _id, ...entry }) => ({ ...entry }));
}
