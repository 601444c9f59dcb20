import { zValidator } from "@hono/zod-validator";
import type * as z from "zod/mini";
import { InvalidRequestError } from "../../kernel/errors/service-error";

/**
 * @hono/zod-validator for JSON bodies, with every failure turned into one
 * 400 invalid_request whose detail names the field and what is wrong.
 */
export function validateJson<T extends z.ZodMiniType>(schema: T) {
  return zValidator("json", schema, (result) => {
    if (!result.success) throw new InvalidRequestError(describeIssue(result.error.issues[0], result.data));
  });
}

function describeIssue(issue: z.core.$ZodIssue | undefined, input: unknown): string {
  if (!issue) return "The request body is not valid.";
  const field = issue.path.length > 0 ? `"${issue.path.join(".")}"` : undefined;
  switch (issue.code) {
    case "unrecognized_keys":
      return `Unknown field${issue.keys.length === 1 ? "" : "s"} ${issue.keys.map((k) => `"${k}"`).join(", ")}: send only the documented fields.`;
    case "invalid_type":
      if (!field) return "The request body must be a JSON object.";
      return valueAt(input, issue.path) === undefined
        ? `Field ${field} is required.`
        : `Field ${field} must be a ${issue.expected}.`;
    case "invalid_value":
      // z.enum and z.literal: name what is allowed, so a client can fix the call without the docs.
      return `${field ? `Field ${field}` : "The request body"} must be ${
        issue.values.length === 1 ? showValue(issue.values[0]) : `one of: ${issue.values.map(showValue).join(", ")}`
      }.`;
    default:
      return field ? `Field ${field} ${issue.message}.` : `The request body is not valid: ${issue.message}.`;
  }
}

/** Strings as they are (sms, voice); other literals (true, 3, null) as JSON. */
function showValue(value: unknown): string {
  return typeof value === "string" ? value : typeof value === "bigint" ? `${value}` : String(JSON.stringify(value));
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
