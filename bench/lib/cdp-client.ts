/**
 * A minimal Chrome DevTools Protocol client over WebSocket (Node's global
 * WebSocket), enough to drive V8's sampling profiler in workerd through the
 * inspector port `wrangler dev` opens.
 */
export class CdpClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private readonly socket: WebSocket;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.addEventListener("message", (event) => {
      const msg = JSON.parse(String(event.data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
      };
      // Answers to our commands carry their id; events (no id) are not needed here.
      if (msg.id === undefined) return;
      const w = this.waiting.get(msg.id);
      this.waiting.delete(msg.id);
      if (msg.error) w?.reject(new Error(msg.error.message));
      else w?.resolve(msg.result);
    });
  }

  /** Connects to the first target listed at http://127.0.0.1:<port>/json. */
  static async connect(inspectorPort: number): Promise<CdpClient> {
    const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as Array<{
      webSocketDebuggerUrl: string;
    }>;
    // wrangler's inspector proxy wants an Origin it trusts; Node's WebSocket (undici) takes headers in its second argument.
    const init = { headers: { origin: "http://localhost" } } as unknown as string[];
    const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl, init);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve(), { once: true });
      socket.addEventListener("error", () => reject(new Error("inspector connection failed")), { once: true });
    });
    return new CdpClient(socket);
  }

  send<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    this.socket.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject }));
  }

  close(): void {
    this.socket.close();
  }
}
