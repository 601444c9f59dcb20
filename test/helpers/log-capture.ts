import { vi } from "vitest";

/** Every console line the app writes from now on (all levels), parsed when it is JSON. */
export function captureConsole() {
  const raw: string[] = [];
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      raw.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
    });
  }
  return {
    raw,
    events(event: string): Record<string, unknown>[] {
      return raw.flatMap((line) => {
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          return parsed.event === event ? [parsed] : [];
        } catch {
          return [];
        }
      });
    },
  };
}

/** The keys the test environment gives the gateways (vitest.config.ts): none may appear in a log line or an answer. */
export const GATEWAY_KEYS = ["test-fast2sms-key-7f3a", "test-msg91-key-5b2c", "test-2factor-key-9d4e"];
