import { execFile } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, REPO_ROOT, startWranglerDev } from "../../scripts/lib/wrangler-dev.ts";

/**
 * The package as an app gets it: `npm pack` at the repository root (prepack
 * builds dist/), the tarball installed with npm into a fresh project outside
 * the repository, its .d.ts type-checked with `tsc --strict` under
 * moduleResolution bundler and nodenext (with hono added for the middleware's
 * entry), and a sign-in against the real
 * `wrangler dev` (send → dev outbox → verify → refresh → logout) by a plain
 * JavaScript file that imports only `phone-otp/client`, run by Node 20 when the
 * machine has one; then `phone-otp/verify` checks the access token against the
 * service's JWKS in the same plain Node.
 *
 * npm installs with --prefer-offline: jose comes from the npm cache that
 * `npm ci` filled, or from the npm registry when the cache lacks its metadata.
 */
const run = promisify(execFile);
const TSC = join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc");
const PHONE = "+919876543210";

let tmp: string;
let app: string;
let dev: DevServer;
let packed: { filename: string; files: { path: string }[] };

/** The first `node` on PATH outside node_modules (the system's, Node 20 on CI's machine), else this process's. */
async function plainNode(): Promise<{ path: string; version: string }> {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "" || dir.includes("node_modules")) continue;
    const candidate = join(dir, "node");
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    const { stdout } = await run(candidate, ["--version"]);
    return { path: candidate, version: stdout.trim() };
  }
  return { path: process.execPath, version: process.version };
}

async function npm(args: string[], cwd: string) {
  return run("npm", args, { cwd, env: { ...process.env, npm_config_update_notifier: "false" }, maxBuffer: 1 << 24 });
}

async function packAndInstall() {
  const { stdout } = await npm(["pack", "--json", "--pack-destination", tmp], REPO_ROOT);
  packed = JSON.parse(stdout.slice(stdout.indexOf("[")))[0];
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "sdk-app", private: true, type: "module" }));
  await npm(
    ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", join(tmp, packed.filename)],
    app,
  );
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "phone-otp-sdk-"));
  app = join(tmp, "app");
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: "sdk-e2e", alg: "EdDSA", use: "sig" };
  const [started] = await Promise.allSettled([
    startWranglerDev({
      SMS_PROVIDER: "console",
      JWT_PRIVATE_KEY: JSON.stringify(jwk),
      OTP_HASH_SECRET: "e2e-sdk-otp-hash-secret-0123456789abcdef0123",
    }),
    packAndInstall(),
  ]).then((results) => {
    for (const r of results) if (r.status === "rejected") throw r.reason;
    return results.map((r) => (r as PromiseFulfilledResult<unknown>).value);
  });
  dev = started as DevServer;
});

afterAll(async () => {
  await dev?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe("the tarball `npm pack` makes", () => {
  it("holds only the built entry points, and depends on jose alone", () => {
    const paths = packed.files.map((f) => f.path).sort();
    expect(paths).toEqual(expect.arrayContaining(["package.json", "dist/client/index.js", "dist/client/index.d.ts"]));
    expect(paths).toEqual(expect.arrayContaining(["dist/verify/index.js", "dist/verify/index.d.ts"]));
    for (const path of paths)
      expect(path).toMatch(/^(package\.json|README\.md|LICENSE|dist\/(client|verify)\/[\w.-]+\.(js|d\.ts))$/);
    const manifest = JSON.parse(readFileSync(join(app, "node_modules", "phone-otp", "package.json"), "utf8"));
    expect(manifest.dependencies).toEqual({ jose: expect.any(String) });
    expect(Object.keys(manifest.exports)).toEqual(["./client", "./verify", "./verify/hono", "./package.json"]);
    // Installed: the package and jose, nothing of the Worker.
    const lock = JSON.parse(readFileSync(join(app, "package-lock.json"), "utf8"));
    expect(Object.keys(lock.packages).sort()).toEqual(["", "node_modules/jose", "node_modules/phone-otp"]);
  });
});

const CLIENT_APP = `
import { createPhoneOtpClient, PhoneOtpError, type PhoneOtpStorage } from "phone-otp/client";

const items = new Map<string, string>();
const storage: PhoneOtpStorage = { get: (k) => items.get(k), set: (k, v) => void items.set(k, v), remove: (k) => void items.delete(k) };
const client = createPhoneOtpClient({ baseUrl: "https://otp.example.com", storage });

export async function signIn(phone: string, readCode: () => Promise<string>): Promise<string | null> {
  const sent: { verificationId: string; expiresIn: number; resendAfter: number; channel: "sms" | "voice" | "whatsapp" } =
    await client.sendOtp({ phone, channel: "sms" });
  try {
    const verified = await client.verifyOtp({ phone, otp: await readCode(), verificationId: sent.verificationId });
    const seconds: number = verified.expiresIn;
    void seconds;
  } catch (err) {
    if (err instanceof PhoneOtpError) {
      const why: { code: string; status: number; detail: string; retryAfter: number | undefined } = err;
      if (err.code === "otp_invalid") return \`\${why.detail} (\${err.attemptsLeft ?? 0} left)\`;
    }
    throw err;
  }
  const sessions = await client.listSessions();
  const current: boolean | undefined = sessions[0]?.current;
  void current;
  await client.refresh();
  return client.accessToken();
}
`;

const VERIFY_APP = `
import { InvalidAccessTokenError, type PhoneClaims, verifyAccessToken } from "phone-otp/verify";

export async function phoneOf(token: string): Promise<string | undefined> {
  try {
    const claims: PhoneClaims = await verifyAccessToken(token, {
      jwksUrl: "https://otp.example.com/.well-known/jwks.json",
      issuer: "phone-otp",
      audience: "phone-otp-app",
    });
    const verified: true = claims.phone_number_verified;
    void verified;
    return claims.sub;
  } catch (err) {
    if (err instanceof InvalidAccessTokenError && err.code === "invalid_token") return undefined;
    throw err;
  }
}
`;

const HONO_APP = `
import { Hono } from "hono";
import { type PhoneAuthVariables, phoneAuth } from "phone-otp/verify/hono";

export const api = new Hono<{ Variables: PhoneAuthVariables }>()
  .use(phoneAuth({ jwksUrl: "https://otp.example.com/.well-known/jwks.json", issuer: "phone-otp", audience: "phone-otp-app", algorithms: ["EdDSA"] }))
  .get("/me", (c) => c.json({ phone: c.get("phoneAuth").sub }));
`;

/** tsc --strict, no skipLibCheck: the package's .d.ts are checked too. The client's need no DOM or Node types. */
const tsconfig = (module: "esnext" | "nodenext", resolution: "bundler" | "nodenext", lib: string[], files: string[]) =>
  JSON.stringify({
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: "es2022",
      module,
      moduleResolution: resolution,
      lib,
      types: [],
      skipLibCheck: false,
    },
    files,
  });

describe("the installed package type-checks with tsc --strict", () => {
  const configs = [
    ["esnext", "bundler"],
    ["nodenext", "nodenext"],
  ] as const;

  beforeAll(async () => {
    // phone-otp/verify/hono's types need hono, an optional peer dependency: an app with Hono has it.
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "node_modules", "hono", "package.json"), "utf8"));
    await npm(["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", `hono@${version}`], app);
  });

  it.each(configs)("module %s, moduleResolution %s", async (module, resolution) => {
    writeFileSync(join(app, "client-app.ts"), CLIENT_APP);
    writeFileSync(join(app, "verify-app.ts"), VERIFY_APP);
    // The client alone with lib es2022 and no ambient types (as in React Native); jose's types need the web APIs.
    writeFileSync(join(app, `client.${resolution}.json`), tsconfig(module, resolution, ["es2022"], ["client-app.ts"]));
    writeFileSync(
      join(app, `verify.${resolution}.json`),
      tsconfig(module, resolution, ["es2022", "dom"], ["verify-app.ts"]),
    );
    writeFileSync(join(app, "hono-app.ts"), HONO_APP);
    writeFileSync(
      join(app, `hono.${resolution}.json`),
      tsconfig(module, resolution, ["es2022", "dom"], ["hono-app.ts"]),
    );
    for (const project of [`client.${resolution}.json`, `verify.${resolution}.json`, `hono.${resolution}.json`]) {
      const result = await run(process.execPath, [TSC, "-p", project], { cwd: app }).catch((e) => e);
      expect(`${result.stdout ?? ""}${result.stderr ?? ""}`, project).toBe("");
    }
  });

  it("the types are real: a wrong field name fails to compile", async () => {
    writeFileSync(
      join(app, "wrong.ts"),
      'import { createPhoneOtpClient } from "phone-otp/client";\n' +
        'await createPhoneOtpClient({ baseUrl: "x" }).sendOtp({ phon: "+919876543210" });\nexport {};\n',
    );
    writeFileSync(join(app, "wrong.json"), tsconfig("nodenext", "nodenext", ["es2022"], ["wrong.ts"]));
    const result = await run(process.execPath, [TSC, "-p", "wrong.json"], { cwd: app }).catch((e) => e);
    expect(result.code).not.toBe(0);
    expect(String(result.stdout)).toMatch(/wrong\.ts.*'phon'/);
  });
});

const SIGN_IN = `
import { createPhoneOtpClient, PhoneOtpError } from "phone-otp/client";
import { verifyAccessToken } from "phone-otp/verify";

const base = process.env.BASE;
const phone = process.env.PHONE;
const client = createPhoneOtpClient({ baseUrl: base });
const out = { node: process.version };

out.sent = await client.sendOtp({ phone });
const outbox = await (await fetch(base + "/dev/outbox?phone=" + encodeURIComponent(phone))).json();
const code = /\\d{4,10}/.exec(outbox.messages[0].text)[0];
try {
  await client.verifyOtp({ phone, otp: code === "000000" ? "111111" : "000000" });
} catch (err) {
  out.wrong = { isPhoneOtpError: err instanceof PhoneOtpError, code: err.code, status: err.status, attemptsLeft: err.attemptsLeft };
}
out.verified = await client.verifyOtp({ phone, otp: code });
out.firstToken = await client.accessToken();
const [a, b, refreshed] = await Promise.all([client.accessToken(), client.accessToken(), client.refresh()]);
out.refreshed = refreshed;
out.sameAsStored = a === out.firstToken && b === out.firstToken;
out.currentToken = await client.accessToken();
out.sessions = await client.listSessions();

const options = { jwksUrl: base + "/.well-known/jwks.json", issuer: "phone-otp", audience: "phone-otp-app" };
out.claims = await verifyAccessToken(out.currentToken, options);
out.wrongAudience = await verifyAccessToken(out.currentToken, { ...options, audience: "another-app" }).catch((e) => ({ name: e.name, code: e.code }));
out.tampered = await verifyAccessToken(out.currentToken.slice(0, -4) + "AAAA", options).catch((e) => e.code);

await client.logout();
out.afterLogout = await client.accessToken();
const stale = createPhoneOtpClient({
  baseUrl: base,
  storage: { get: (k) => k.endsWith(":session") ? JSON.stringify({ service: base, accessToken: "x", accessExpiresAt: 0, refreshToken: refreshed.refreshToken }) : null, set() {}, remove() {} },
});
out.refreshAfterLogout = await stale.refresh().catch((e) => ({ code: e.code, status: e.status }));
console.log(JSON.stringify(out));
`;

describe("an app signs in with only the package, in plain Node", () => {
  it("send → outbox → verify → refresh → logout against wrangler dev, and verifies the token with the JWKS", async () => {
    writeFileSync(join(app, "sign-in.mjs"), SIGN_IN);
    const node = await plainNode();
    expect(Number(/^v(\d+)/.exec(node.version)?.[1])).toBeGreaterThanOrEqual(20);
    const { stdout } = await run(node.path, ["sign-in.mjs"], {
      cwd: app,
      env: { ...process.env, BASE: dev.url, PHONE },
    });
    const out = JSON.parse(stdout.trim().split("\n").at(-1)!);
    expect(out.node).toBe(node.version);
    expect(out.sent).toEqual({
      phone: PHONE,
      verificationId: expect.any(String),
      expiresIn: 300,
      resendAfter: 30,
      channel: "sms",
    });
    expect(out.wrong).toEqual({ isPhoneOtpError: true, code: "otp_invalid", status: 400, attemptsLeft: 4 });
    expect(out.verified).toMatchObject({ tokenType: "Bearer", expiresIn: 900, refreshExpiresIn: expect.any(Number) });
    expect(out.firstToken).toBe(out.verified.accessToken);
    expect(out.sameAsStored).toBe(true);
    expect(out.refreshed.refreshToken).not.toBe(out.verified.refreshToken);
    expect(out.currentToken).toBe(out.refreshed.accessToken);
    expect(out.sessions).toEqual([expect.objectContaining({ current: true, client: expect.anything() })]);
    expect(out.claims).toMatchObject({
      sub: PHONE,
      phone_number: PHONE,
      phone_number_verified: true,
      iss: "phone-otp",
    });
    expect(out.wrongAudience).toEqual({ name: "InvalidAccessTokenError", code: "invalid_token" });
    expect(out.tampered).toBe("invalid_token");
    expect(out.afterLogout).toBeNull();
    expect(out.refreshAfterLogout).toEqual({ code: "invalid_refresh_token", status: 401 });
  });
});
