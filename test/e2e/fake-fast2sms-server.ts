import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedSms {
  path: string;
  authorization: string | undefined;
  body: Record<string, string>;
}

/** A small Fast2SMS stand-in on loopback: records each POST /dev/bulkV2 and answers success. */
export async function startFakeFast2Sms(): Promise<{ url: string; received: ReceivedSms[]; close: () => Promise<void> }> {
  const received: ReceivedSms[] = [];
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    if (req.method !== "POST" || req.url !== "/dev/bulkV2") {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ return: false, status_code: 990 }));
      return;
    }
    received.push({ path: req.url, authorization: req.headers.authorization, body: JSON.parse(raw) });
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ return: true, request_id: `fake${received.length}`, message: ["SMS sent successfully."] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
