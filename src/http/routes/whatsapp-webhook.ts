import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { receiveWhatsAppStatuses } from "../../domain/otp/code-delivery";
import {
  NotFoundError,
  PayloadTooLargeError,
  WebhookSignatureInvalidError,
  WebhookVerificationFailedError,
} from "../../kernel/errors/service-error";
import { parseStatuses, verifyHandshake, verifySignature } from "../../platform/whatsapp/whatsapp-webhook";
import type { AppEnv } from "../core/app-env";
import { deliveryDeps } from "../deps/delivery-deps";
import { settingsAndKeys } from "../middleware/settings-and-keys";
import type { WebhookResponse } from "../schemas/api-schemas";

/** The largest status body read: Meta's payloads are at most 3 MB (up to 1,000 updates in one post). */
export const MAX_WHATSAPP_WEBHOOK_BODY_BYTES = 3 * 1024 * 1024;

const nothingHere = () => new NotFoundError("There is nothing at this address. See /docs for the API.");

/**
 * GET and POST /webhooks/whatsapp: the WhatsApp Cloud API's webhook, which
 * exists only while WhatsApp is configured (else the app's one 404).
 *
 * GET is Meta's verification handshake: `hub.mode=subscribe` with the right
 * `hub.verify_token` (WHATSAPP_VERIFY_TOKEN, compared in constant time)
 * answers 200 with `hub.challenge` as plain text; anything else is 403.
 *
 * POST carries message statuses, accepted only with a valid
 * `X-Hub-Signature-256`: the HMAC-SHA256 of the raw body bytes, as
 * received, with WHATSAPP_APP_SECRET, compared in constant time; otherwise
 * 401 and nothing is read or recorded. A signed body answers 200 {} whatever
 * it says, for ids the service sent and for ids it never did alike. The
 * request log shows the route's pattern and never the signature header.
 */
export const whatsAppWebhookRoute = new Hono<AppEnv>()
  .get("/webhooks/whatsapp", settingsAndKeys(), async (c) => {
    const whatsapp = c.get("settings").whatsapp;
    if (whatsapp === undefined) throw nothingHere();
    const challenge = await verifyHandshake(new URL(c.req.url).searchParams, whatsapp.verifyToken);
    if (challenge === null) {
      throw new WebhookVerificationFailedError("The handshake's hub.mode or hub.verify_token is not the expected one.");
    }
    c.header("cache-control", "no-store");
    return c.text(challenge, 200);
  })
  .post(
    "/webhooks/whatsapp",
    settingsAndKeys(),
    async (c, next) => {
      if (c.get("settings").whatsapp === undefined) throw nothingHere();
      return next();
    },
    bodyLimit({
      maxSize: MAX_WHATSAPP_WEBHOOK_BODY_BYTES,
      onError: () => {
        throw new PayloadTooLargeError(`A webhook body must be at most ${MAX_WHATSAPP_WEBHOOK_BODY_BYTES} bytes.`);
      },
    }),
    async (c) => {
      const whatsapp = c.get("settings").whatsapp;
      if (whatsapp === undefined) throw nothingHere();
      const raw = await c.req.arrayBuffer();
      if (!(await verifySignature(raw, c.req.header("x-hub-signature-256") ?? null, whatsapp.appSecret))) {
        throw new WebhookSignatureInvalidError("The X-Hub-Signature-256 header is missing or does not sign this body.");
      }
      await receiveWhatsAppStatuses(deliveryDeps(c), parseStatuses(new TextDecoder().decode(raw)));
      c.header("cache-control", "no-store");
      return c.json({} satisfies WebhookResponse, 200);
    },
  );
