import type { EventMessage } from "../../src/platform/events/event-message";

/** A queue that keeps what is sent to it, standing in for EVENTS_QUEUE on the producer side. */
export function capturingQueue() {
  const messages: EventMessage[] = [];
  const queue = {
    async send(body: EventMessage) {
      messages.push(body);
    },
    async sendBatch(batch: Iterable<{ body: EventMessage }>) {
      for (const m of batch) messages.push(m.body);
    },
  };
  return { messages, queue };
}
