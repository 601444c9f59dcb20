import { describe, expect, it } from "vitest";
import { describeWait } from "../../src/kernel/describe-wait";
import { maskPhone } from "../../src/kernel/phone/mask-phone";

describe("maskPhone", () => {
  it("keeps the country code and the last four digits", () => {
    expect(maskPhone("+919876543210")).toBe("+91******3210");
    expect(maskPhone("+123")).toBe("****");
  });
});

describe("describeWait", () => {
  it("rounds up to seconds, minutes or hours", () => {
    expect(describeWait(0.2)).toBe("1 second");
    expect(describeWait(20)).toBe("20 seconds");
    expect(describeWait(600)).toBe("10 minutes");
    expect(describeWait(23.5 * 3600)).toBe("24 hours");
  });
});
