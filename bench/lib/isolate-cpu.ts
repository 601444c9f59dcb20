import { randomBytes } from "node:crypto";
import { exportJWK, exportPKCS8, generateKeyPair } from "jose";
import type { LoopbackFast2Sms } from "../../scripts/lib/fake-fast2sms-server.ts";
import { type DevServer, startWranglerDev } from "../../scripts/lib/wrangler-dev.ts";
import { groupOf } from "./bundle-contributors.ts";
import { CdpClient } from "./cdp-client.ts";
import type { LoopbackClient } from "./http-client.ts";
import type { BenchPhone } from "./phones.ts";
import { type CpuProfile, moduleLines } from "./profile-summary.ts";
import { percentile, round } from "./stats.ts";

/**
 * The Worker isolate's own CPU per request, from workerd's inspector: a V8
 * sampling profile (Profiler.start/stop over the Chrome DevTools protocol)
 * of the isolate while requests are made one at a time, with a pause after
 * each. V8 stamps its samples with the same monotonic clock as this
 * process's `process.hrtime` (CLOCK_MONOTONIC on Linux), so each sample is
 * given to the request whose window it falls in: from just before the
 * request is written to just before the next one is (so work after the
 * response counts). A request's CPU is the time of its samples that are not
 * `(idle)`, less the samples whose stack runs through a Durable Object
 * class's module (under wrangler dev the objects run in the Worker's
 * isolate; on Cloudflare they run and are billed on their own). The KV
 * emulation runs in another isolate and is not in the profile.
 *
 * Each flow's number is new, so its PhoneLimiter and SessionStore are too.
 * Under wrangler dev the runtime makes a new object (its SQLite database
 * among others) inside the first call to it, with no frame of the object's
 * own: about 0.75 ms per new object that the profile would give to the
 * Worker's line making the call; on Cloudflare an object is made where it
 * runs. So before each flow, in a window of its own that counts for no
 * request, the admin API's lookup of the number (GET /admin/numbers/:phone)
 * makes both objects; the flow's requests then call them as they would on
 * Cloudflare, and the rest of the flow is the same.
 */
export type KeyType = "HS256" | "EdDSA" | "RS256";
export const KEY_TYPES: readonly KeyType[] = ["HS256", "EdDSA", "RS256"];
export type CpuEndpoint = "send" | "verify" | "refresh";

export interface CpuSummary {
  requests: number;
  p50: number;
  p99: number;
  mean: number;
}

export interface IsolateCpu {
  keyType: KeyType;
  firebase: boolean;
  /** The isolate's CPU ms per request without the Durable Objects' share. */
  byEndpoint: Record<CpuEndpoint, CpuSummary>;
  /** The same, with the Durable Objects' code (run in this isolate locally) counted too. */
  withObjects: Record<CpuEndpoint, CpuSummary>;
  /**
   * Where each request's CPU goes (Durable Objects left out): self time per request, ms, by module
   * (a src/ file or a package) or kind ((program), (garbage collector), native functions), largest first.
   */
  selfByModule: Record<CpuEndpoint, Array<[string, number]>>;
  /** Busy sample time outside every request's window, ms (should be about 0: the windows cover the run). */
  unattributedMs: number;
  samplingIntervalUs: number;
}

/** Sampling interval: fine enough to resolve a request of a few ms, light enough not to weigh on it. */
const INTERVAL_US = 100;
/** The most one sample stands for: about twice the spacing of samples while the isolate runs. */
const SAMPLE_CAP_US = 4 * INTERVAL_US;
/**
 * Unmeasured sign-ins first: JIT tiers, keys imported, the objects' code
 * loaded. V8 optimises a function after some hundreds of calls, so a few
 * flows leave the first measured ones running unoptimised code, which a
 * long-lived isolate on Cloudflare runs only for its first requests.
 */
const WARMUP_ITERATIONS = 40;
/** The pause after each request, so its work after the response (waitUntil) lands in its own window. */
const PAUSE_MS = 25;
/**
 * Frames of these modules are the Durable Objects' side of a call: the service's object classes (every class
 * of wrangler.toml's [[durable_objects.bindings]], the fraud guard's RangeGuard too), and miniflare's wrapper
 * of each class (do-wrapper.worker.ts: under wrangler dev, each new object's constructor writes its name to
 * its SQLite; a deployment has no wrapper).
 */
const OBJECT_MODULES =
  /(src\/platform\/(limiter\/(phone-limiter|quota-counter|budget-shard|range-guard)|sessions\/session-store|stats\/stats-counter)\.ts|src\/workers\/core\/do-wrapper\.worker\.ts)$/;

/** The admin token of the services started here, for the lookup that makes each flow's objects (random per run). */
const ADMIN_TOKEN = randomBytes(32).toString("base64url");

/** Settings for one key type, with the Firebase token on (an RS256 service account made here). */
async function keySettings(keyType: KeyType): Promise<Record<string, string>> {
  const firebase = await generateKeyPair("RS256", { extractable: true });
  const account = {
    type: "service_account",
    project_id: "bench-demo",
    private_key_id: "0123456789abcdef",
    private_key: await exportPKCS8(firebase.privateKey),
    client_email: "firebase-adminsdk-bench@bench-demo.iam.gserviceaccount.com",
    client_id: "123456789012345678901",
  };
  const settings: Record<string, string> = { FIREBASE_SERVICE_ACCOUNT: JSON.stringify(account) };
  if (keyType !== "HS256") {
    const { privateKey } = await generateKeyPair(keyType, {
      extractable: true,
      ...(keyType === "EdDSA" ? { crv: "Ed25519" } : { modulusLength: 2048 }),
    });
    settings.JWT_PRIVATE_KEY = JSON.stringify({
      ...(await exportJWK(privateKey)),
      kid: `bench-${keyType}`,
      alg: keyType,
      use: "sig",
    });
  }
  return settings;
}

/** The settings a service is profiled with: `base`, the key type's and the Firebase token's, and the ADMIN_TOKEN the flows use. */
export async function keyTypeSettings(base: Record<string, string>, keyType: KeyType): Promise<Record<string, string>> {
  // Each event's stats written at once, inside its request's window (an upper bound on batching's share).
  return { ...base, ...(await keySettings(keyType)), STATS_FLUSH_MS: "0", ADMIN_TOKEN };
}

/** Starts one service per key type at once (unminified, so profile lines map to modules; minifying changes parsing, not requests). */
export async function startKeyTypeServers(
  base: Record<string, string>,
  stateRoot: string,
): Promise<Array<{ keyType: KeyType; server: DevServer }>> {
  const started = await Promise.allSettled(
    KEY_TYPES.map(async (keyType) => ({
      keyType,
      server: await startWranglerDev(await keyTypeSettings(base, keyType), {
        stateRoot,
        extraArgs: ["--no-minify"],
      }),
    })),
  );
  const servers = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s) => s.status === "rejected");
  if (failed) {
    await Promise.allSettled(servers.map((s) => s.server.stop()));
    throw failed.reason;
  }
  return servers;
}

interface Window {
  /** `objects`: the lookup that makes a flow's objects before it (counted for no request). */
  endpoint: CpuEndpoint | "echo" | "objects";
  startUs: number;
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const pause = () => new Promise((r) => setTimeout(r, PAUSE_MS));

/** Profiles `flows` sign-ins (send → verify → refresh, one request at a time) on one server. */
export async function measureIsolateCpu(
  keyType: KeyType,
  server: DevServer,
  client: LoopbackClient,
  fast2sms: LoopbackFast2Sms,
  phones: Iterator<BenchPhone>,
  flows: number,
): Promise<IsolateCpu> {
  const flow = async (post: Post, makeObjects: MakeObjects) => {
    const phone = phones.next().value as BenchPhone;
    await makeObjects(phone.e164);
    const sent = await post("send", "/send-otp", { phone: phone.e164 });
    const otp = fast2sms.latestTo(phone.national)?.body.variables_values;
    const verified = await post("verify", "/verify-otp", {
      phone: phone.e164,
      otp,
      verification_id: sent.verification_id,
    });
    if (typeof verified.firebase_token !== "string") throw new Error("verify-otp answered without a firebase_token");
    await post("refresh", "/token/refresh", { refresh_token: verified.refresh_token });
  };
  const { byEndpoint, withObjects, selfByModule, unattributedMs } = await profileRequests(server, client, flow, flows);
  const only = <T>(r: Record<CpuEndpoint | "echo", T>) => ({ send: r.send, verify: r.verify, refresh: r.refresh });
  return {
    keyType,
    firebase: true,
    byEndpoint: only(byEndpoint),
    withObjects: only(withObjects),
    selfByModule,
    unattributedMs,
    samplingIntervalUs: INTERVAL_US,
  };
}

/** The bare Hono baseline's POST /echo measured the same way: the floor of a request under wrangler dev and the profiler. */
export async function measureBaselineCpu(
  server: DevServer,
  client: LoopbackClient,
  phones: Iterator<BenchPhone>,
  requests: number,
): Promise<CpuSummary> {
  const echo = async (post: Post) =>
    void (await post("echo", "/echo", { phone: (phones.next().value as BenchPhone).e164 }));
  return (await profileRequests(server, client, echo, requests)).byEndpoint.echo;
}

type Post = (endpoint: CpuEndpoint | "echo", path: string, body: unknown) => Promise<Record<string, unknown>>;
type MakeObjects = (e164: string) => Promise<void>;

/** Runs `iteration` WARMUP_ITERATIONS times (at most `times`) to warm up, then `times` times under the profiler; attributes the samples. */
async function profileRequests(
  server: DevServer,
  client: LoopbackClient,
  iteration: (post: Post, makeObjects: MakeObjects) => Promise<void>,
  times: number,
) {
  const windows: Window[] = [];
  let record = false;
  const post: Post = async (endpoint, path, body) => {
    if (record) windows.push({ endpoint, startUs: nowUs() });
    const reply = await client.post(`${server.url}${path}`, body);
    if (reply.status !== 200) throw new Error(`${path} answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    await pause();
    return reply.body;
  };
  const makeObjects: MakeObjects = async (e164) => {
    if (record) windows.push({ endpoint: "objects", startUs: nowUs() });
    const reply = await fetch(`${server.url}/admin/numbers/${encodeURIComponent(e164)}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    if (reply.status !== 200) throw new Error(`/admin/numbers/:phone answered ${reply.status}`);
    await reply.arrayBuffer();
    await pause();
  };
  // As many as are measured when fewer (the smoke run), so CI's run stays short.
  for (let i = 0; i < Math.min(WARMUP_ITERATIONS, times); i++) await iteration(post, makeObjects);
  const cdp = await CdpClient.connect(server.inspectorPort);
  try {
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: INTERVAL_US });
    await cdp.send("Profiler.start");
    record = true;
    for (let i = 0; i < times; i++) await iteration(post, makeObjects);
    const { profile } = await cdp.send<{ profile: CpuProfile }>("Profiler.stop");
    return attribute(profile, windows, await scriptModules(cdp, profile));
  } finally {
    cdp.close();
  }
}

/** Maps (scriptId, line) to the bundled module through the `// <path>` markers of the unminified script. */
async function scriptModules(cdp: CdpClient, profile: CpuProfile) {
  await cdp.send("Debugger.enable");
  const scripts = new Map<string, (line: number) => string>();
  for (const node of profile.nodes) {
    const id = node.callFrame.scriptId;
    if (!node.callFrame.url || scripts.has(id)) continue;
    const { scriptSource } = await cdp.send<{ scriptSource: string }>("Debugger.getScriptSource", { scriptId: id });
    scripts.set(id, moduleLines(scriptSource));
  }
  return (scriptId: string, line: number) => scripts.get(scriptId)?.(line);
}

type Node = CpuProfile["nodes"][number] & { children?: number[] };

function attribute(
  profile: CpuProfile,
  windows: Window[],
  moduleOf: (scriptId: string, line: number) => string | undefined,
): Pick<IsolateCpu, "selfByModule" | "unattributedMs"> & {
  byEndpoint: Record<CpuEndpoint | "echo", CpuSummary>;
  withObjects: Record<CpuEndpoint | "echo", CpuSummary>;
} {
  const nodes = new Map<number, Node>(profile.nodes.map((n) => [n.id, n as Node]));
  const parent = new Map<number, number>();
  for (const n of nodes.values()) for (const c of n.children ?? []) parent.set(c, n.id);
  // Whether a node's stack starts in a Durable Object class (memoised per node): the frame the runtime entered
  // the isolate at (the one just under `(root)`: an RPC method, an alarm, a resumed async function) is in an
  // object's module. So the Worker's own calls to such a module's helpers (limiterFor, rangeGuardFor) stay
  // the Worker's.
  const inObject = new Map<number, boolean>();
  const objectSide = (id: number): boolean => {
    const known = inObject.get(id);
    if (known !== undefined) return known;
    const p = parent.get(id);
    let result: boolean;
    if (p === undefined || nodes.get(p)!.callFrame.functionName === "(root)") {
      const { callFrame } = nodes.get(id)!;
      result = callFrame.url !== "" && OBJECT_MODULES.test(moduleOf(callFrame.scriptId, callFrame.lineNumber) ?? "");
    } else result = objectSide(p);
    inObject.set(id, result);
    return result;
  };
  const where = (id: number): string => {
    const { functionName, url, scriptId, lineNumber } = nodes.get(id)!.callFrame;
    if (functionName.startsWith("(")) return functionName;
    if (!url) return `(native) ${functionName || "(unnamed)"}`;
    const path = moduleOf(scriptId, lineNumber) ?? url;
    return path.startsWith("src/") ? path : groupOf(path, 0);
  };
  const self = {
    send: new Map<string, number>(),
    verify: new Map<string, number>(),
    refresh: new Map<string, number>(),
    echo: new Map<string, number>(),
    objects: new Map<string, number>(),
  };
  const worker = windows.map(() => 0);
  const all = windows.map(() => 0);
  let unattributed = 0;
  let t = profile.startTime;
  let w = -1;
  for (const [i, id] of profile.samples.entries()) {
    t += profile.timeDeltas[i] ?? 0;
    // A sample stands for the time since the one before it, but only while the isolate runs: V8 samples an
    // isolate that is running (about every 180 µs here at a 100 µs setting) and not one that waits, so a long
    // gap before a sample was mostly waiting. Each sample counts at most SAMPLE_CAP_US.
    const us = Math.min(profile.timeDeltas[i] ?? 0, SAMPLE_CAP_US);
    if (nodes.get(id)!.callFrame.functionName === "(idle)") continue;
    while (w + 1 < windows.length && windows[w + 1]!.startUs <= t) w++;
    if (windows[w]?.endpoint === "objects") continue;
    if (w < 0) {
      unattributed += us;
      continue;
    }
    all[w]! += us;
    if (!objectSide(id)) {
      worker[w]! += us;
      const m = self[windows[w]!.endpoint];
      m.set(where(id), (m.get(where(id)) ?? 0) + us);
    }
  }
  const summarize = (values: number[]) => {
    const byEndpoint = {} as Record<CpuEndpoint | "echo", CpuSummary>;
    for (const endpoint of ["send", "verify", "refresh", "echo"] as const) {
      const ms = windows
        .flatMap((win, i) => (win.endpoint === endpoint ? [values[i]! / 1000] : []))
        .sort((a, b) => a - b);
      byEndpoint[endpoint] = {
        requests: ms.length,
        p50: round(percentile(ms, 50), 3),
        p99: round(percentile(ms, 99), 3),
        mean: round(ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length), 3),
      };
    }
    return byEndpoint;
  };
  const top = (endpoint: CpuEndpoint | "echo"): Array<[string, number]> => {
    const n = Math.max(1, windows.filter((win) => win.endpoint === endpoint).length);
    return [...self[endpoint]]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([k, us]) => [k, round(us / 1000 / n, 3)]);
  };
  return {
    byEndpoint: summarize(worker),
    withObjects: summarize(all),
    selfByModule: { send: top("send"), verify: top("verify"), refresh: top("refresh") },
    unattributedMs: round(unattributed / 1000, 3),
  };
}
