import type * as z from "zod/mini";
import type { problemDocument } from "./http/schemas/api-schemas";

/**
 * Types for clients: `hc<AppType>()` from hono/client, and the problem+json
 * body every error has (`import type { AppType, Problem } from "<this repository>/src/app-type"`; apps outside it use `phone-otp/client`).
 * Errors are thrown, not returned, in the routes, so hc types only the 200
 * answers; read an error's body as a Problem.
 */
export type { AppType } from "./http/app";
export type Problem = z.output<typeof problemDocument>;
