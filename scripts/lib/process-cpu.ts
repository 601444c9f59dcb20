import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU accounting from Linux's /proc, the kernel's own per-process counters:
 * utime + stime (fields 14 and 15 of /proc/<pid>/stat) in clock ticks, the
 * same figures `top` and `ps` use. Linux only.
 */

interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime (user mode) and stime (kernel mode), in clock ticks. */
  utime: number;
  stime: number;
}

let ticksPerSecond: number | undefined;

/** Clock ticks per second (USER_HZ, nearly always 100). */
function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // gone
  }
  // `pid (comm) state ppid …`: comm may hold spaces or parentheses, so split after the last ")".
  const close = text.lastIndexOf(")");
  const comm = text.slice(text.indexOf("(") + 1, close);
  const fields = text.slice(close + 2).split(" ");
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return { pid, comm, ppid: Number(fields[1]), utime: Number(fields[11]), stime: Number(fields[12]) };
}

function allProcesses(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat) stats.push(stat);
  }
  return stats;
}

/** PIDs of every process below `root` (children, grandchildren, …) whose command name is `comm`. */
export function descendantsNamed(root: number, comm: string): number[] {
  const stats = allProcesses();
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      if (child.comm === comm) found.push(child.pid);
      queue.push(child.pid);
    }
  }
  return found;
}

/** CPU time (user + system) used so far by each of `pids`, in milliseconds; a vanished process is left out. */
export function cpuMsByPid(pids: readonly number[]): Map<number, number> {
  const perTick = 1000 / clockTicksPerSecond();
  const result = new Map<number, number>();
  for (const pid of pids) {
    const stat = readStat(pid);
    if (stat) result.set(pid, (stat.utime + stat.stime) * perTick);
  }
  return result;
}

/** User-mode and kernel-mode CPU time used so far by `pid`, in milliseconds (undefined once it is gone). */
export function cpuSplitMs(pid: number): { userMs: number; sysMs: number } | undefined {
  const stat = readStat(pid);
  const perTick = 1000 / clockTicksPerSecond();
  return stat && { userMs: stat.utime * perTick, sysMs: stat.stime * perTick };
}

/** CPU milliseconds used between two `cpuMsByPid` snapshots, summed over the processes present in both. */
export function cpuMsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) {
    const start = before.get(pid);
    if (start !== undefined) total += ms - start;
  }
  return total;
}
