import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { SETTING_NAMES, settingDefault } from "../../src/kernel/config/settings";
import { ERROR_CATALOG } from "../../src/kernel/errors/error-catalog";

const read = (file: string) => readFileSync(fileURLToPath(new URL(`../../${file}`, import.meta.url).href), "utf8");
const api = read("docs/api.md");
const settings = read("docs/settings.md");

describe("docs/api.md matches the code", () => {
  it("lists exactly the error codes of the catalog, each with its status and when it happens", () => {
    const rows = [...api.matchAll(/^\| (\d{3}) \| `([a-z_]+)` \| (.+) \|$/gm)].map(([, status, code, when]) => [
      code!,
      { status: Number(status), when },
    ]);
    expect(Object.fromEntries(rows)).toEqual(
      Object.fromEntries(
        Object.entries(ERROR_CATALOG).map(([code, info]) => [code, { status: info.status, when: info.when }]),
      ),
    );
    expect(rows).toHaveLength(Object.keys(ERROR_CATALOG).length);
  });
});

describe("docs/settings.md's table matches the settings schema", () => {
  const rows = [...settings.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \| ([^|]+) \|/gm)].map(([, name, fallback]) => ({
    name: name!,
    fallback: fallback!.trim(),
  }));

  it("lists every setting the service reads, and no other", () => {
    expect(rows.map((r) => r.name).sort()).toEqual([...SETTING_NAMES].sort());
  });

  it("gives each setting's default as the schema does", () => {
    for (const { name, fallback } of rows) {
      const value = settingDefault(name as (typeof SETTING_NAMES)[number]);
      const shown = /^`([^`]*)`/.exec(fallback)?.[1];
      if (value === undefined || (Array.isArray(value) && value.length === 0)) {
        // No default: the table says so in words (—, empty, required…), not with a value.
        expect(shown, `${name}: the table shows a default the schema does not have`).toBeUndefined();
      } else if (typeof value !== "object") {
        expect(shown, `${name}: the table's default`).toBe(String(value));
      } else if (Array.isArray(value)) {
        expect(shown, `${name}: the table's default`).toBe(value.join(","));
      }
    }
  });
});

describe("the docs name what the code and wrangler.toml have", () => {
  const wranglerToml = read("wrangler.toml");

  it("docs/deploy.md names every binding and every Durable Object class in wrangler.toml", () => {
    const deploy = read("docs/deploy.md");
    const bindings = [...wranglerToml.matchAll(/^(?:binding|name) = "([A-Z_]+)"$/gm)].map(([, b]) => b!);
    const classes = [...wranglerToml.matchAll(/^class_name = "(\w+)"$/gm)].map(([, c]) => c!);
    expect(classes).toHaveLength(6);
    expect(bindings).toEqual(expect.arrayContaining(["OTP_KV", "OTP_EVENTS", "PHONE_LIMITER"]));
    for (const name of [...bindings, ...classes]) expect(deploy, name).toContain(`\`${name}\``);
  });

  it("docs/architecture.md's layout names every folder of src/", () => {
    const architecture = read("docs/architecture.md");
    const layout = architecture.slice(
      architecture.indexOf("## Layout"),
      architecture.indexOf("## Where new code goes"),
    );
    const root = fileURLToPath(new URL("../../src", import.meta.url).href);
    const folders = readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(folders).toEqual(expect.arrayContaining(["admin", "stats", "limiter"]));
    for (const folder of folders) expect(layout, folder).toMatch(new RegExp(`\\b${folder}/`));
  });

  it("README.md stays a short entry point whose quick start runs real npm scripts", () => {
    const readme = read("README.md");
    expect(readme.split("\n").length).toBeLessThanOrEqual(250);
    const scripts = JSON.parse(read("package.json")).scripts as Record<string, string>;
    expect(scripts.dev).toBe("node scripts/dev.mjs");
    expect(readme).toContain("npm run dev");
    expect(scripts.test).toBeDefined();
    expect(readme).toMatch(/^npm test\b/m);
  });
});
