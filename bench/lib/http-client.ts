import { Agent, request } from "node:http";

export interface JsonReply {
  status: number;
  body: Record<string, unknown>;
  /** From just before the request was written to the end of the response body. */
  ms: number;
}

/**
 * A lean JSON-over-HTTP client on node:http with keep-alive connections
 * (lighter on the driver's CPU than fetch). Refuses any host but loopback:
 * the benchmark must never send traffic elsewhere.
 */
export class LoopbackClient {
  private readonly agent: Agent;

  constructor(maxSockets: number) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  post(url: string, body: unknown): Promise<JsonReply> {
    const target = new URL(url);
    if (target.hostname !== "127.0.0.1") throw new Error(`refusing to send benchmark traffic to ${target.host}`);
    const payload = JSON.stringify(body);
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: "POST",
          agent: this.agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
        },
        (res) => {
          let raw = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (raw += chunk));
          res.on("end", () => {
            const ms = performance.now() - started;
            try {
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(raw) as Record<string, unknown>, ms });
            } catch {
              resolve({ status: res.statusCode ?? 0, body: { unparsed: raw.slice(0, 200) }, ms });
            }
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
