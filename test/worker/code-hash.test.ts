import { describe, expect, it } from "vitest";
import { codeMatches, hashCode } from "../../src/domain/otp/code-hash";

describe("code hash", () => {
  const secret = "s".repeat(32);
  it("matches only the same phone, code id and code", async () => {
    const hash = await hashCode(secret, "+919876543210", "id-1", "123456");
    expect(hash).not.toContain("123456");
    expect(await codeMatches(secret, "+919876543210", "id-1", "123456", hash)).toBe(true);
    expect(await codeMatches(secret, "+919876543210", "id-1", "123457", hash)).toBe(false);
    expect(await codeMatches(secret, "+919876543211", "id-1", "123456", hash)).toBe(false);
    expect(await codeMatches(secret, "+919876543210", "id-2", "123456", hash)).toBe(false);
    expect(await codeMatches("t".repeat(32), "+919876543210", "id-1", "123456", hash)).toBe(false);
    expect(await codeMatches(secret, "+919876543210", "id-1", "123456", "%%%not-base64")).toBe(false);
  });
});
