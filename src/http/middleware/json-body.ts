import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import {
  InvalidRequestError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from "../../kernel/errors/service-error";
import type { AppEnv } from "../core/app-env";

/** The largest body any JSON route accepts (the error catalog says 4 KB). */
export const MAX_JSON_BODY_BYTES = 4 * 1024;

/**
 * For POST routes: JSON only (415 otherwise), at most `maxBytes` of body
 * (413 payload_too_large otherwise, checked while streaming, so a huge body is
 * never buffered), and a body that parses as JSON (400 invalid_request,
 * recognised by the parser's SyntaxError). The parsed body is cached by Hono
 * for the validator that follows.
 */
export function jsonBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  if (!Number.isInteger(maxBytes) || maxBytes <= 0)
    throw new TypeError("jsonBody: maxBytes must be a positive integer");
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new PayloadTooLargeError(`The request body must be at most ${maxBytes} bytes.`);
    },
  });
  return async function jsonBodyMiddleware(c, next) {
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== "application/json") {
      throw new UnsupportedMediaTypeError('Send the body as JSON with the header "Content-Type: application/json".');
    }
    return limit(c, async () => {
      try {
        await c.req.json();
      } catch (err) {
        if (err instanceof SyntaxError) throw new InvalidRequestError("The request body is not valid JSON.");
        throw err;
      }
      await next();
    });
  };
}
