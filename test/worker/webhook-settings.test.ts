import { describe, expect, it } from "vitest";
import { loadSettings } from "../../src/kernel/config/settings";
import { MisconfiguredError } from "../../src/kernel/errors/service-error";

const base = { SMS_PROVIDER: "console", JWT_SECRET: "j".repeat(32), OTP_HASH_SECRET: "h".repeat(32) };
const KEY = btoa("0123456789abcdef0123456789abcdef");

function refused(overrides: Record<string, string>): string[] {
  try {
    loadSettings({ ...base, ...overrides });
  } catch (err) {
    expect(err).toBeInstanceOf(MisconfiguredError);
    for (const value of Object.values(overrides)) {
      if (value.length > 8) expect(String((err as Error).cause)).not.toContain(value);
    }
    return [...(err as MisconfiguredError).settings];
  }
  return [];
}

describe("the Standard Webhooks settings (events, Supabase's hook)", () => {
  it("events are on with an https URL and a whsec_ secret, off with neither", () => {
    expect(loadSettings(base).events).toBeUndefined();
    const s = loadSettings({
      ...base,
      EVENTS_WEBHOOK_URL: "https://app.example/hooks?t=1",
      EVENTS_WEBHOOK_SECRET: `whsec_${KEY}`,
    });
    expect(s.events).toMatchObject({ url: "https://app.example/hooks?t=1", timeoutMs: 10_000 });
    expect(s.events?.secret).toHaveLength(32);
  });

  it.each([
    [{ EVENTS_WEBHOOK_URL: "https://app.example/hooks" }, "EVENTS_WEBHOOK_SECRET"],
    [{ EVENTS_WEBHOOK_SECRET: `whsec_${KEY}` }, "EVENTS_WEBHOOK_URL"],
    [{ EVENTS_WEBHOOK_URL: "http://app.example/hooks", EVENTS_WEBHOOK_SECRET: `whsec_${KEY}` }, "EVENTS_WEBHOOK_URL"],
    [{ EVENTS_WEBHOOK_URL: "https://app.example/", EVENTS_WEBHOOK_SECRET: KEY }, "EVENTS_WEBHOOK_SECRET"],
    [
      { EVENTS_WEBHOOK_URL: "https://app.example/", EVENTS_WEBHOOK_SECRET: `whsec_${btoa("short")}` },
      "EVENTS_WEBHOOK_SECRET",
    ],
    [{ SUPABASE_SMS_HOOK_SECRET: `whsec_${KEY}` }, "SUPABASE_SMS_HOOK_SECRET"],
    [{ SUPABASE_SMS_HOOK_SECRET: `v1,whsec_${KEY}|v1,nope` }, "SUPABASE_SMS_HOOK_SECRET"],
  ])("%j is a settings error naming %s", (overrides, name) => {
    expect(refused(overrides)).toEqual([name]);
  });

  it("http to localhost is allowed for local development", () => {
    const s = loadSettings({
      ...base,
      EVENTS_WEBHOOK_URL: "http://localhost:9000/e",
      EVENTS_WEBHOOK_SECRET: `whsec_${KEY}`,
    });
    expect(s.events?.url).toBe("http://localhost:9000/e");
  });

  it("Supabase's secret in its own form, several while one is rotated", () => {
    const s = loadSettings({ ...base, SUPABASE_SMS_HOOK_SECRET: `v1,whsec_${KEY}|v1,whsec_${btoa("x".repeat(24))}` });
    expect(s.supabase?.hookSecrets).toHaveLength(2);
    expect(s.supabase?.maxSendsPerHour).toBe(1000);
  });
});
