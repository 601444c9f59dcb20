import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { SETTING_NAMES, settingDefault } from "../../src/kernel/config/settings";
import { ERROR_CATALOG } from "../../src/kernel/errors/error-catalog";

const readme = readFileSync(fileURLToPath(new URL("../../README.md", import.meta.url).href), "utf8");

describe("README.md matches the code", () => {
  it("lists exactly the error codes of the catalog, each with its status and when it happens", () => {
    const rows = [...readme.matchAll(/^\| (\d{3}) \| `([a-z_]+)` \| (.+) \|$/gm)].map(([, status, code, when]) => [
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

describe("README.md's settings table matches the settings schema", () => {
  const rows = [...readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \| ([^|]+) \|/gm)].map(([, name, fallback]) => ({
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
        // No default: README says so in words (—, empty, required…), not with a value.
        expect(shown, `${name}: README shows a default the schema does not have`).toBeUndefined();
      } else if (typeof value !== "object") {
        expect(shown, `${name}: README's default`).toBe(String(value));
      } else if (Array.isArray(value)) {
        expect(shown, `${name}: README's default`).toBe(value.join(","));
      }
    }
  });
});
