/**
 * `npm run bench:cpu-ab -- <commit>`: the Worker isolate's CPU per request of
 * an earlier commit against this working tree's, both served in one run, so a
 * change's effect reads as a ratio rather than across runs on a shared machine.
 *
 * The commit is extracted (git archive) into a temporary folder with this
 * checkout's node_modules linked in; each tree serves the service under its
 * own `wrangler dev` (unminified), with the same settings: the benchmark's,
 * HS256 with JWT_SECRET and a Firebase service account made for the run.
 * Rounds alternate between the two, each profiling `--flows` sign-ins (send,
 * verify, refresh, one request at a time) with bench/lib/isolate-cpu.ts, the
 * measurement `npm run bench` reports; the Durable Objects' share is left out.
 * Printed: p50, p99 and mean per request and round, the ratio of the means,
 * and where each tree's CPU goes (self time by module, the last round).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startFakeFast2Sms } from "../scripts/lib/fake-fast2sms-server.ts";
import { type DevServer, REPO_ROOT, startWranglerDev } from "../scripts/lib/wrangler-dev.ts";
import { LoopbackClient } from "./lib/http-client.ts";
import { type CpuEndpoint, type IsolateCpu, keyTypeSettings, measureIsolateCpu } from "./lib/isolate-cpu.ts";
import { indianMobiles } from "./lib/phones.ts";
import { serviceSettings } from "./lib/service-settings.ts";
import { benchStateRoot } from "./lib/state-root.ts";

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    flows: { type: "string", default: "40" },
    rounds: { type: "string", default: "2" },
    "state-root": { type: "string" },
  },
});
const rev = positionals[0] ?? "HEAD";
const stateRoot = args["state-root"] ?? benchStateRoot();
const ENDPOINTS: readonly CpuEndpoint[] = ["send", "verify", "refresh"];

const before = mkdtempSync(join(stateRoot, "cpu-ab-"));
execFileSync("sh", ["-c", `git archive "$0" | tar -x -C "$1"`, rev, before], { cwd: REPO_ROOT, stdio: "inherit" });
symlinkSync(realpathSync(join(REPO_ROOT, "node_modules")), join(before, "node_modules"));
const beforeDev = (await import(join(before, "scripts/lib/wrangler-dev.ts"))) as {
  startWranglerDev: typeof startWranglerDev;
};

const fast2sms = await startFakeFast2Sms({ keepAll: false });
const client = new LoopbackClient(4);
const phones = indianMobiles(Date.now() % 1_000_000);
const servers: Array<{ name: string; server: DevServer; runs: IsolateCpu[] }> = [];
try {
  const settings = await keyTypeSettings(serviceSettings(fast2sms.url), "HS256");
  const options = { stateRoot, extraArgs: ["--no-minify"] };
  servers.push({ name: rev, server: await beforeDev.startWranglerDev(settings, options), runs: [] });
  servers.push({ name: "working tree", server: await startWranglerDev(settings, options), runs: [] });
  for (let round = 1; round <= Number(args.rounds); round++) {
    for (const s of servers) {
      s.runs.push(await measureIsolateCpu("HS256", s.server, client, fast2sms, phones, Number(args.flows)));
      process.stderr.write(`[cpu-ab] round ${round}: ${s.name} done\n`);
    }
  }
} finally {
  client.close();
  await Promise.allSettled(servers.map((s) => s.server.stop()));
  await fast2sms.close();
  rmSync(before, { recursive: true, force: true });
}

const mean = (runs: IsolateCpu[], e: CpuEndpoint) => runs.reduce((t, r) => t + r.byEndpoint[e].mean, 0) / runs.length;
console.log("\nThe Worker isolate's CPU per request, ms (Durable Objects left out), HS256 + Firebase token:");
for (const e of ENDPOINTS) {
  for (const s of servers) {
    const rounds = s.runs.map((r) => `${r.byEndpoint[e].p50.toFixed(2)}/${r.byEndpoint[e].p99.toFixed(2)}`).join("  ");
    console.log(`  ${e.padEnd(8)} ${s.name.padEnd(14)} p50/p99 by round ${rounds}  mean ${mean(s.runs, e).toFixed(2)}`);
  }
  const [a, b] = servers.map((s) => mean(s.runs, e)) as [number, number];
  console.log(`  ${e.padEnd(8)} working tree / ${rev}: ${(b / a).toFixed(3)} (${(b - a).toFixed(2)} ms)`);
}
for (const e of ENDPOINTS) {
  console.log(`\nWhere a ${e} goes (self time, ms per request, last round):`);
  for (const s of servers) {
    const parts = s.runs.at(-1)!.selfByModule[e].slice(0, 8);
    console.log(`  ${s.name}: ${parts.map(([m, t]) => `${m} ${t.toFixed(2)}`).join(", ")}`);
  }
}
