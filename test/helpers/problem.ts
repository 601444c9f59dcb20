import { expect } from "vitest";
import type { ApiResponse } from "./api";

/** Asserts an RFC 9457 problem document with the given status and stable code. */
export function expectProblem(res: ApiResponse, status: number, code: string): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  expect(res.body).toMatchObject({
    type: `urn:phone-otp:problem:${code}`,
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code,
  });
  expect((res.body.detail as string).length).toBeGreaterThan(10);
  expect(JSON.stringify(res.body)).not.toMatch(/at .*\(.*:\d+:\d+\)|stack/i);
}
