import { groupOf } from "./bundle-contributors.ts";

/** The parts of a V8 .cpuprofile this summary reads. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; scriptId: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  /** Sampled wall time, ms. */
  totalMs: number;
  /** Time the isolate ran anything (all but "(idle)"), ms. */
  busyMs: number;
  /** Self time by package (`zod`, `src`, …) or kind (`(garbage collector)`, `(native) sign`), ms, largest first. */
  byGroup: Array<[string, number]>;
  /** Self time by function, ms, largest first. */
  topFunctions: Array<[string, number]>;
}

/**
 * Maps a line of the bundled Worker script to the module it came from, using
 * the `// <path>` lines esbuild puts before each module (as bundle-contributors.ts does).
 */
export function moduleLines(source: string): (line: number) => string {
  const starts: Array<[number, string]> = [];
  source.split("\n").forEach((text, i) => {
    // A package's path may start with a relative prefix: `// ../../main/node_modules/hono/…` from a git
    // worktree whose node_modules links to another checkout's.
    const m = /^\/\/ (?:\.\.\/)*(?:[^/\s]+\/)*?((?:node_modules|src)\/\S+\.(?:m?js|ts|json))$/.exec(text);
    if (m) starts.push([i, m[1]!]);
  });
  return (line) => {
    let found = "(bundle glue)";
    for (const [start, path] of starts) {
      if (start > line) break;
      found = path;
    }
    return found;
  };
}

/** Self time per group and per function. `moduleOf(scriptId, line)` names the module, or undefined for other scripts. */
export function summarizeProfile(
  profile: CpuProfile,
  moduleOf: (scriptId: string, line: number) => string | undefined,
): ProfileSummary {
  const selfUs = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const byGroup = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let idleUs = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    if (us === 0) continue;
    const { functionName, scriptId, url, lineNumber } = node.callFrame;
    const name = functionName || "(anonymous)";
    let group: string;
    if (name.startsWith("(")) group = name;
    else if (!url) group = `(native) ${name}`;
    else group = groupOf(moduleOf(scriptId, lineNumber) ?? url, 0);
    if (group === "(idle)") idleUs += us;
    const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + us / 1000);
    add(byGroup, group);
    add(byFunction, url ? `${name} (${moduleOf(scriptId, lineNumber) ?? url})` : group);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  return {
    totalMs,
    busyMs: totalMs - idleUs / 1000,
    byGroup: sorted(byGroup),
    topFunctions: sorted(byFunction).slice(0, 25),
  };
}
