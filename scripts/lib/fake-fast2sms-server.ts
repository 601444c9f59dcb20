import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedSms {
  path: string;
  authorization: string | undefined;
  body: Record<string, string>;
}

export interface LoopbackFast2Sms {
  url: string;
  /** Every SMS request, oldest first (when `keepAll` is on). */
  received: ReceivedSms[];
  /** The latest SMS to a number, keyed by Fast2SMS's `numbers` field (the national number, e.g. 9876543210). */
  latestTo: (national: string) => ReceivedSms | undefined;
  close: () => Promise<void>;
}

/**
 * A small Fast2SMS stand-in on loopback: takes each POST /dev/bulkV2 and
 * answers success at once. `keepAll: false` keeps only the latest SMS per
 * number, so a long benchmark does not grow a log it never reads.
 */
export async function startFakeFast2Sms(options: { keepAll?: boolean } = {}): Promise<LoopbackFast2Sms> {
  const { keepAll = true } = options;
  const received: ReceivedSms[] = [];
  const latest = new Map<string, ReceivedSms>();
  let count = 0;
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    if (req.method !== "POST" || req.url !== "/dev/bulkV2") {
      res
        .writeHead(404, { "content-type": "application/json" })
        .end(JSON.stringify({ return: false, status_code: 990 }));
      return;
    }
    const sms: ReceivedSms = { path: req.url, authorization: req.headers.authorization, body: JSON.parse(raw) };
    count += 1;
    if (keepAll) received.push(sms);
    if (sms.body.numbers) latest.set(sms.body.numbers, sms);
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ return: true, request_id: `fake${count}`, message: ["SMS sent successfully."] }));
  });
  // Keep connections from workerd open between SMS, as a real HTTPS gateway would.
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    latestTo: (national) => latest.get(national),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
