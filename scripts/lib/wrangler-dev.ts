import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { descendantsNamed } from "./process-cpu.ts";

/** The repository's root: wrangler runs from here, and config paths are relative to it. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url).href);

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface DevServer {
  url: string;
  /** Everything wrangler printed so far (its own lines and the Worker's logs). */
  output: () => string;
  /** The inspector (Chrome DevTools Protocol) port for the Worker's isolate. */
  inspectorPort: number;
  /** PID of the wrangler process (the root of its process group). */
  pid: number;
  /** PIDs of the workerd processes wrangler runs (the runtime that serves the Worker), read from /proc. */
  workerdPids: () => number[];
  stop: () => Promise<void>;
}

export interface WranglerDevOptions {
  /** wrangler.toml to serve, relative to the repository root (default: the service's own). */
  config?: string;
  /**
   * Folder under which the run's temporary folder (settings file, local KV and
   * Durable Object storage) is made; default: the OS temporary folder.
   */
  stateRoot?: string;
  timeoutMs?: number;
  /** More arguments for `wrangler dev` (e.g. `--no-minify`). */
  extraArgs?: string[];
}

/**
 * wrangler's environment: the caller's, with the settings that would let a
 * developer's shell change the Worker's settings pinned. The Worker's settings
 * are wrangler.toml's [vars] and the `--env-file` given, nothing else: with an
 * `--env-file`, wrangler does not read .dev.vars (nor .env); these make sure it
 * reads that file (CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV), adds none of the
 * shell's variables (CLOUDFLARE_INCLUDE_PROCESS_ENV) and picks no environment
 * from wrangler.toml (CLOUDFLARE_ENV).
 */
function devEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CLOUDFLARE_LOAD_DEV_VARS_FROM_DOT_ENV: "true",
    CLOUDFLARE_INCLUDE_PROCESS_ENV: "false",
    WRANGLER_SEND_METRICS: "false",
    CI: "true",
    NO_COLOR: "1",
  };
  delete env.CLOUDFLARE_ENV;
  return env;
}

/**
 * Starts the real `wrangler dev` (workerd, local KV and Durable Objects in a
 * temporary folder) on a free loopback port with the given settings (on top of
 * the config's [vars]; never a developer's .dev.vars), and
 * resolves once GET /health answers 2xx (every Worker served this way has it).
 */
export async function startWranglerDev(
  vars: Record<string, string>,
  options: WranglerDevOptions = {},
): Promise<DevServer> {
  const { config = "wrangler.toml", stateRoot = tmpdir(), timeoutMs = 60_000 } = options;
  const dir = mkdtempSync(join(stateRoot, "phone-otp-dev-"));
  const envFile = join(dir, "settings.env");
  writeFileSync(
    envFile,
    Object.entries(vars)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n"),
  );
  const [port, inspectorPort] = [await freePort(), await freePort()];
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(REPO_ROOT, "node_modules/wrangler/bin/wrangler.js"),
      "dev",
      "--config",
      config,
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
      "--persist-to",
      join(dir, "state"),
      "--env-file",
      envFile,
      "--show-interactive-dev-session=false",
      ...(options.extraArgs ?? []),
    ],
    {
      cwd: REPO_ROOT,
      env: devEnv(),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    },
  );
  let log = "";
  child.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        /* already gone */
      }
      const killTimer = setTimeout(() => child.pid && process.kill(-child.pid, "SIGKILL"), 5000);
      await exited;
      clearTimeout(killTimer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const url = `http://127.0.0.1:${port}`;
  const server: DevServer = {
    url,
    output: () => log,
    inspectorPort,
    pid: child.pid!,
    workerdPids: () => descendantsNamed(child.pid!, "workerd"),
    stop,
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return server;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not start within ${timeoutMs} ms:\n${log}`);
}
