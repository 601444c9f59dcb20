import { execFile } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeFast2Sms } from "../../scripts/lib/fake-fast2sms-server.ts";
import { REPO_ROOT, startWranglerDev } from "../../scripts/lib/wrangler-dev.ts";

/**
 * A developer's own .dev.vars (README: copy .dev.vars.example and edit it)
 * changes nothing the tests and the benchmark run against. It is made in a
 * temporary copy of the project, never in the real one: other tests run at the
 * same time and would read it there. The copy has its own wrangler.toml,
 * vitest.config.ts and package.json, and links to src/, test/, scripts/ and
 * node_modules/.
 */
const run = promisify(execFile);
const ADMIN_TOKEN = "local-admin-token-0123456789abcdef0123456789";
const DEV_VARS = `${readFileSync(join(REPO_ROOT, ".dev.vars.example"), "utf8")}\nADMIN_TOKEN=${ADMIN_TOKEN}\n`;
let project: string;

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), "phone-otp-dev-vars-"));
  for (const file of ["wrangler.toml", "vitest.config.ts", "package.json"]) {
    copyFileSync(join(REPO_ROOT, file), join(project, file));
  }
  for (const dir of ["src", "test", "scripts", "node_modules"]) symlinkSync(join(REPO_ROOT, dir), join(project, dir));
  writeFileSync(join(project, ".dev.vars"), DEV_VARS);
  // Read by wrangler when there is no .dev.vars; here it must not be read either way.
  writeFileSync(join(project, ".env"), DEV_VARS);
});

afterAll(() => rmSync(project, { recursive: true, force: true }));

describe("a .dev.vars with SMS_PROVIDERS=console and an ADMIN_TOKEN beside wrangler.toml", () => {
  it("is not read by wrangler dev as the e2e tests and the benchmark start it", async () => {
    expect(DEV_VARS).toMatch(/^SMS_PROVIDERS=console$/m);
    const fast2sms = await startFakeFast2Sms();
    const dev = await startWranglerDev(
      {
        SMS_PROVIDER: "fast2sms",
        FAST2SMS_BASE_URL: fast2sms.url,
        FAST2SMS_API_KEY: "e2e-fast2sms-key",
        JWT_SECRET: "e2e-jwt-secret-0123456789abcdef0123456789",
        OTP_HASH_SECRET: "e2e-otp-hash-secret-0123456789abcdef012345",
      },
      { config: join(project, "wrangler.toml") },
    );
    try {
      const sent = await fetch(`${dev.url}/send-otp`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ phone: "+919876543210" }),
      });
      expect(sent.status).toBe(200);
      // The code went to the fake Fast2SMS, not to the console provider of the .dev.vars.
      expect(fast2sms.received).toHaveLength(1);
      expect((await fetch(`${dev.url}/dev/outbox`)).status).toBe(404);
      // No ADMIN_TOKEN: /admin does not exist, even with the .dev.vars' token.
      const admin = await fetch(`${dev.url}/admin/stats`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(admin.status).toBe(404);
      expect(dev.output()).not.toContain(".dev.vars");
    } finally {
      await dev.stop();
      await fast2sms.close();
    }
  }, 120_000);

  it("is not read by the worker project: its tests that depend on the gateway and on ADMIN_TOKEN pass", async () => {
    // Nor do the shell's variables reach the Worker, or pick an environment of wrangler.toml.
    const shell = { CLOUDFLARE_ENV: "staging", CLOUDFLARE_INCLUDE_PROCESS_ENV: "true", ADMIN_TOKEN };
    const files = ["test/worker/happy-path.test.ts", "test/worker/admin.test.ts"];
    const { stdout } = await run(
      process.execPath,
      [join(project, "node_modules/vitest/vitest.mjs"), "run", "--project", "worker", ...files],
      { cwd: project, env: { ...process.env, ...shell, FORCE_COLOR: "0" }, timeout: 150_000 },
    ).catch((e: { stdout?: string; stderr?: string }) => {
      throw new Error(`the worker tests failed with the .dev.vars present:\n${e.stdout}\n${e.stderr}`);
    });
    const summary = /^(\d+) passed, (\d+) failed$/m.exec(stdout);
    expect(summary, stdout).not.toBeNull();
    expect(Number(summary![1])).toBeGreaterThan(10);
    expect(summary![2]).toBe("0");
  }, 180_000);
});
