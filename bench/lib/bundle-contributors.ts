import { gzipSync } from "node:zlib";

/** One part of the bundle and what it costs. */
export interface Contributor {
  /** A package (`zod`), a folder inside one (`zod/v4/locales`) or the service's own `src`. */
  name: string;
  rawBytes: number;
  /** Marginal gzip size: how much smaller the gzipped bundle would be without this part's code. */
  gzipBytes: number;
}

/**
 * Splits an unminified esbuild bundle into its modules. esbuild starts each
 * module's code with a `// <input path>` line (the paths in the metafile's
 * `inputs`); everything up to the next such line is that module's code.
 */
export function splitModules(bundle: string, inputs: ReadonlySet<string>): Map<string, string> {
  const modules = new Map<string, string>();
  let current = "(bundle glue)";
  let start = 0;
  const marker = /^\/\/ (\S+)$/gm;
  for (const match of bundle.matchAll(marker)) {
    if (!inputs.has(match[1]!)) continue;
    modules.set(current, (modules.get(current) ?? "") + bundle.slice(start, match.index));
    current = match[1]!;
    start = match.index;
  }
  modules.set(current, (modules.get(current) ?? "") + bundle.slice(start));
  return modules;
}

/**
 * `node_modules/zod/v4/locales/en.js` → `zod`, or `zod/v4/locales` at depth 2
 * (a file at a package's root keeps its name: `libphonenumber-js/metadata.mobile.json.js`);
 * `src/http/app.ts` → `src`.
 */
export function groupOf(path: string, depth: 0 | 2): string {
  const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(path);
  if (!m) return path.startsWith("src/") ? "src" : path;
  if (depth === 0) return m[1]!;
  const parts = m[2]!.split("/");
  return parts.length === 1 ? `${m[1]}/${parts[0]}` : [m[1], ...parts.slice(0, -1).slice(0, depth)].join("/");
}

/**
 * The bundle's contributors at one grouping, largest marginal gzip first.
 * Marginal gzip = gzip(whole) − gzip(whole without the group), so shared
 * redundancy is credited to neither side and the figures read as savings.
 */
export function contributors(modules: ReadonlyMap<string, string>, group: (path: string) => string): Contributor[] {
  const groups = new Map<string, string[]>();
  for (const path of modules.keys()) groups.set(group(path), [...(groups.get(group(path)) ?? []), path]);
  const whole = [...modules.values()].join("");
  const wholeGzip = gzipSync(whole).byteLength;
  const result: Contributor[] = [];
  for (const [name, paths] of groups) {
    const members = new Set(paths);
    const rest = [...modules]
      .filter(([p]) => !members.has(p))
      .map(([, code]) => code)
      .join("");
    result.push({
      name,
      rawBytes: paths.reduce((sum, p) => sum + Buffer.byteLength(modules.get(p)!), 0),
      gzipBytes: wholeGzip - gzipSync(rest).byteLength,
    });
  }
  return result.sort((a, b) => b.gzipBytes - a.gzipBytes);
}
