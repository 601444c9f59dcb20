import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
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
