import { accessSync, constants } from "node:fs";
import { tmpdir } from "node:os";

/**
 * Where `wrangler dev` keeps the benchmark's local KV and Durable Object
 * storage: /dev/shm (RAM) when there is one, else the OS temporary folder.
 *
 * Why RAM: locally, every new Durable Object (one per phone number) is a new
 * SQLite file and every KV write a new blob file, written by workerd itself;
 * in production that storage lives on Cloudflare's servers, not in the
 * Worker's process. On a disk, file creation and fsync dominate workerd's CPU
 * time and vary with whatever else the (shared) disk is doing, which would
 * drown the Worker's own cost. `--state-root DIR` puts it elsewhere, e.g. on a
 * disk (BENCHMARKS.md says what changes then).
 */
export function benchStateRoot(): string {
  try {
    accessSync("/dev/shm", constants.W_OK);
    return "/dev/shm";
  } catch {
    return tmpdir();
  }
}
