import { type ChildProcess, execFileSync, spawn } from "node:child_process";

/**
 * Optional native profile of a workerd process with Linux `perf` (when it is
 * installed): samples of user and kernel stacks, summarised by what the time
 * went to: the Workers' JavaScript (V8 JIT code and interpreter/builtins),
 * the rest of V8, workerd's own machinery (kj/capnp I/O, HTTP, RPC, bindings),
 * SQLite (local Durable Object and KV storage), memory allocation, the kernel.
 */

const CATEGORIES: Array<[string, (dso: string, sym: string, kernel: boolean) => boolean]> = [
  ["kernel (syscalls: files, sockets, scheduling)", (_d, _s, k) => k],
  ["JavaScript: V8 JIT code", (d) => d.startsWith("[JIT]")],
  ["JavaScript: V8 interpreter and builtins", (_d, s) => s.startsWith("Builtins_")],
  ["SQLite (local DO and KV storage)", (_d, s) => /sqlite|^btree|^pager|^vdbe|^unix[A-Z]|keywordCode|^yy_/i.test(s)],
  ["V8 garbage collection", (_d, s) => /Heap::|Scaveng|MarkCompact|Sweep|Marking|cppgc|Evacuat|heap::base/.test(s)],
  ["V8 runtime (API calls, objects, compiler)", (_d, s) => /^v8::|^v8_|^Runtime_/.test(s)],
  ["malloc and memcpy", (_d, s) => /tcmalloc|malloc|^free|^__mem|memmove|memcpy|memset|memcmp/.test(s)],
  ["crypto (BoringSSL)", (_d, s) => /bssl|^EVP_|SHA|HMAC|sha256|^BN_|^CRYPTO/.test(s)],
  ["workerd, kj, capnp (I/O, HTTP, RPC, bindings)", (d, s) => d === "workerd" || /kj::|capnp|workerd/.test(s)],
];

export function perfAvailable(): boolean {
  try {
    execFileSync("perf", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Starts `perf record` on `pid`; stop it with SIGINT and wait for it to exit before reading `file`. */
export function startPerfRecord(pid: number, file: string): ChildProcess {
  return spawn("perf", ["record", "-F", "499", "-g", "-p", String(pid), "-o", file], { stdio: "ignore" });
}

/** Share of samples per category (percent, largest first) from a perf.data file. */
export function perfCategories(file: string): Array<[string, number]> {
  const report = execFileSync(
    "perf",
    ["report", "-i", file, "--no-children", "--sort", "dso,sym", "--stdio", "-g", "none"],
    {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      stdio: ["ignore", "pipe", "ignore"],
    },
  );
  const shares = new Map<string, number>();
  for (const line of report.split("\n")) {
    const m = /^\s+([\d.]+)%\s+(\S+(?: tid \d+)?)\s+\[(.)\]\s+(.*)$/.exec(line);
    if (!m) continue;
    const [pct, dso, kind, sym] = [Number(m[1]), m[2]!, m[3]!, m[4]!];
    const category = CATEGORIES.find(([, test]) => test(dso, sym, kind === "k"))?.[0] ?? `other (${dso})`;
    shares.set(category, (shares.get(category) ?? 0) + pct);
  }
  return [...shares].sort((a, b) => b[1] - a[1]);
}
