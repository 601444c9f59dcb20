import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../../scripts/lib/wrangler-dev.ts";

const versionOf = (pkg: string) =>
  (JSON.parse(readFileSync(join(REPO_ROOT, "node_modules", pkg, "package.json"), "utf8")) as { version: string })
    .version;

/** What the figures were measured on: they only compare within one machine and one run. */
export function describeMachine(): Record<string, string | number> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    wrangler: versionOf("wrangler"),
    workerd: versionOf("workerd"),
  };
}
