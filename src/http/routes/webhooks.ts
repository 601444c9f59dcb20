import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { isReportingGateway, receiveReports } from "../../domain/otp/code-delivery";
import { NotFoundError, PayloadTooLargeError } from "../../kernel/errors/service-error";
import type { AppEnv } from "../core/app-env";
import { deliveryDeps } from "../deps/delivery-deps";
import { sameToken } from "../middleware/admin-auth";
import { settingsAndKeys } from "../middleware/settings-and-keys";
import type { WebhookResponse } from "../schemas/api-schemas";

/** The largest report body read: MSG91 and Fast2SMS may batch reports, and each is small. */
export const MAX_WEBHOOK_BODY_BYTES = 64 * 1024;

const nothingHere = () => new NotFoundError("There is nothing at this address. See /docs for the API.");

/**
 * POST /webhooks/{gateway}/{DELIVERY_WEBHOOK_SECRET}: a gateway's delivery
 * reports (fast2sms, msg91, twofactor). None of them signs its webhooks, so
 * the secret in the path is the lock: compared in constant time (sameToken);
 * a wrong or missing one, an unknown gateway, or no DELIVERY_WEBHOOK_SECRET
 * at all is the app's one 404, before the body is read, and changes nothing.
 * The request log shows this route's pattern, never the secret. Any body,
 * read or not, answers 200 {}: a report for an id the service never sent is
 * answered like one it did, and an unreadable one is not retried.
 */
export const webhooksRoute = new Hono<AppEnv>().post(
  "/webhooks/:gateway/:secret",
  settingsAndKeys(),
  async (c, next) => {
    const secret = c.get("settings").delivery.webhookSecret;
    const gateway = c.req.param("gateway");
    // Compared whatever the gateway, so the time taken says nothing about which part was wrong.
    const right = secret !== undefined && (await sameToken(c.req.param("secret"), secret));
    if (!right || !isReportingGateway(gateway)) throw nothingHere();
    return next();
  },
  bodyLimit({
    maxSize: MAX_WEBHOOK_BODY_BYTES,
    onError: () => {
      throw new PayloadTooLargeError(`A webhook body must be at most ${MAX_WEBHOOK_BODY_BYTES} bytes.`);
    },
  }),
  async (c) => {
    const gateway = c.req.param("gateway");
    if (!isReportingGateway(gateway)) throw nothingHere();
    await receiveReports(deliveryDeps(c), gateway, await c.req.text(), c.req.header("content-type") ?? null);
    c.header("cache-control", "no-store");
    return c.json({} satisfies WebhookResponse, 200);
  },
);
