import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { REPO_ROOT } from "../../scripts/lib/wrangler-dev.ts";
import { type Contributor, contributors, groupOf, splitModules } from "./bundle-contributors.ts";

/**
 * The Workers size limit this report measures against: 3 MiB after gzip, the
 * Free plan's (the Paid plan allows 10 MiB). Cloudflare counts the compressed
 * upload; wrangler reports it in KiB, so this benchmark uses KiB and MiB too.
 */
export const SIZE_LIMIT = { name: "Workers Free plan, 3 MiB gzip", gzipBytes: 3 * 1024 * 1024 } as const;

export interface BundleReport {
  rawBytes: number;
  gzipBytes: number;
  limitName: string;
  limitGzipBytes: number;
  /** gzipBytes / limitGzipBytes. */
  shareOfLimit: number;
  /** Whether the deployed bundle is minified (wrangler.toml's `minify`). */
  minified: boolean;
  /** Marginal gzip size per package, from the same bundle built unminified (the module markers are needed). */
  byPackage: Contributor[];
  /** Packages split into their folders: the largest ten. */
  largestParts: Contributor[];
}

const exec = promisify(execFile);

/** `wrangler deploy --dry-run --outdir` for the service: bundles exactly what would be uploaded, uploads nothing. */
async function dryRun(extraArgs: string[] = []): Promise<{ code: string; inputs: Set<string> }> {
  const outdir = mkdtempSync(join(tmpdir(), "phone-otp-bundle-"));
  try {
    const metafile = join(outdir, "meta.json");
    await exec(
      process.execPath,
      [
        join(REPO_ROOT, "node_modules/wrangler/bin/wrangler.js"),
        "deploy",
        "--dry-run",
        "--outdir",
        outdir,
        "--metafile",
        metafile,
        ...extraArgs,
      ],
      { cwd: REPO_ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" } },
    );
    const meta = JSON.parse(readFileSync(metafile, "utf8")) as {
      outputs: Record<string, { inputs: Record<string, unknown> }>;
    };
    // Every JavaScript module wrangler would upload (the source map is not uploaded).
    const outputs = Object.entries(meta.outputs).filter(([path]) => /\.m?js$/.test(path));
    // Plus the text modules uploaded beside it (the pages' browser scripts and stylesheets).
    const textModules = readdirSync(outdir).filter((name) => /\.browser\.(js|css)$/.test(name));
    const code = [...outputs.map(([path]) => path.split("/").at(-1)!), ...textModules]
      .map((name) => readFileSync(join(outdir, name), "utf8"))
      .join("");
    return { code, inputs: new Set(outputs.flatMap(([, out]) => Object.keys(out.inputs))) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * The bundle as `wrangler deploy` would upload it (with wrangler.toml's own
 * `minify` setting), and its largest contributors, taken from the same build
 * unminified, where esbuild marks where each module starts.
 */
export async function measureBundle(): Promise<BundleReport> {
  const deployed = await dryRun();
  const unminified = await dryRun(["--no-minify"]);
  const gzipBytes = gzipSync(deployed.code).byteLength;
  const modules = splitModules(unminified.code, unminified.inputs);
  return {
    rawBytes: Buffer.byteLength(deployed.code),
    gzipBytes,
    limitName: SIZE_LIMIT.name,
    limitGzipBytes: SIZE_LIMIT.gzipBytes,
    shareOfLimit: gzipBytes / SIZE_LIMIT.gzipBytes,
    minified: deployed.code !== unminified.code,
    byPackage: contributors(modules, (p) => groupOf(p, 0)),
    largestParts: contributors(modules, (p) => groupOf(p, 2)).slice(0, 10),
  };
}
