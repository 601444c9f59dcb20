/**
 * The console gateway's outbox: the last few messages, in this isolate's
 * memory only, readable at GET /dev/outbox while SMS_PROVIDER is console.
 * It exists so a developer can finish the flow without a phone.
 */
export interface OutboxEntry {
  to: string;
  text: string;
  sent_at: string;
}

const LIMIT = 50;
const entries: OutboxEntry[] = [];

export function addToOutbox(entry: OutboxEntry): void {
  entries.unshift(entry);
  entries.length = Math.min(entries.length, LIMIT);
}

/** Newest first; only messages to `to` when given. */
export function readOutbox(to?: string): OutboxEntry[] {
  return entries.filter((e) => to === undefined || e.to === to);
}
