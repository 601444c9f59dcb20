import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { PhoneLimiter } from "../../src/platform/limiter/phone-limiter";
import { callWith, envWith, uniquePhone, withEnv } from "../helpers/api";
import { expectProblem } from "../helpers/problem";
import { advance, setUpWorkerTest } from "../helpers/setup";

const fast2sms = setUpWorkerTest();

type Client = { ip: string; asn?: number };
const init = (client: Client, json: unknown) => ({
  json,
  headers: { "cf-connecting-ip": client.ip },
  ...(client.asn === undefined ? {} : { cf: { asn: client.asn } }),
});
const send = (settings: Record<string, unknown>, phone: string, client: Client) =>
  callWith(settings, "/send-otp", init(client, { phone }));
const verify = (settings: Record<string, unknown>, phone: string, otp: string, id: string, client: Client) =>
  callWith(settings, "/verify-otp", init(client, { phone, otp, verification_id: id }));
const idOf = (answer: { body: Record<string, unknown> }) => answer.body.verification_id as string;
const wrongCode = (code: string) => (code === "000000" ? "111111" : "000000");

/** The number's stored state: the size of its one value and its tombstone rows. */
const storedSize = (phone: string) =>
  runInDurableObject(env.PHONE_LIMITER.getByName(phone), (_: PhoneLimiter, state) => ({
    value: JSON.stringify(state.storage.kv.get("state") ?? null).length,
    tombstones: state.storage.sql.exec("SELECT count(*) AS n FROM tombstones").one().n,
  }));

describe("a refused request leaves nothing on the number", () => {
  it("300 sends refused by the cooldown leave the number's state as it was after the one that went out", async () => {
    const phone = uniquePhone();
    const client = { ip: "198.51.100.80" };
    expect((await send({}, phone, client)).status).toBe(200);
    const before = await storedSize(phone);
    for (let i = 0; i < 300; i++) expectProblem(await send({}, phone, client), 429, "rate_limited");
    expect(await storedSize(phone)).toEqual(before);
    expect(before.tombstones).toBe(0);
  }, 120_000);
});

describe("IPv6: one number's limits count a /48 as one client", () => {
  it("four /64s of one /56 are one client: they cannot fill the number's ceiling against a new network", async () => {
    const settings = {
      OTP_RESEND_COOLDOWN_SECONDS: "0",
      OTP_MAX_SENDS_PER_HOUR: "3",
      OTP_MAX_SENDS_PER_NUMBER_PER_HOUR: "10",
    };
    const phone = uniquePhone();
    const statuses: number[] = [];
    for (let net = 0; net < 4; net++) {
      for (let i = 0; i < 3; i++)
        statuses.push((await send(settings, phone, { ip: `2001:db8:77:1${net}::${i + 1}` })).status);
    }
    // The first three go out; the rest are that one client's hourly limit, not the number's ceiling.
    expect(statuses.filter((s) => s === 200)).toHaveLength(3);
    expect((await send(settings, phone, { ip: "203.0.113.90" })).status).toBe(200);
  });
});

describe("carrier NAT: a neighbour's wrong guesses slow the owner down, never lock for a day", () => {
  it("two SMS and ten wrong guesses from a shared carrier address delay the owner there by at most an hour", async () => {
    const carrier = { ip: "100.64.9.9", asn: 55836 };
    const phone = uniquePhone();
    const settings = { OTP_RESEND_COOLDOWN_SECONDS: "0" };
    for (let round = 0; round < 2; round++) {
      const sent = await send(settings, phone, carrier);
      expect(sent.status).toBe(200);
      const code = fast2sms.lastCode();
      for (let i = 0; i < 5; i++) await verify(settings, phone, wrongCode(code), idOf(sent), carrier);
    }
    const held = await send(settings, phone, carrier);
    expectProblem(held, 429, "too_many_attempts");
    const wait = Number(held.headers.get("retry-after"));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(3600);
    advance(wait * 1000);
    const owner = await send(settings, phone, carrier);
    expect(owner.status).toBe(200);
    expect((await verify(settings, phone, fast2sms.lastCode(), idOf(owner), carrier)).status).toBe(200);
  });
});

describe("per-client verify allowance (OTP_MAX_VERIFIES_PER_IP_PER_HOUR)", () => {
  it("refuses guesses past the allowance before any KV read; an owner elsewhere is unaffected", async () => {
    let kvReads = 0;
    const kv = new Proxy(env.OTP_KV, {
      get(target, prop: string) {
        const value = Reflect.get(target, prop) as unknown;
        if (prop === "get") kvReads++;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const environment = envWith({ OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "5", OTP_KV: kv });
    const owner = { ip: "198.51.100.91" };
    const phone = uniquePhone();
    const sent = await withEnv(environment, "/send-otp", init(owner, { phone }));
    const guesser = { ip: "203.0.113.91" };
    const guess = () =>
      withEnv(
        environment,
        "/verify-otp",
        init(guesser, { phone, otp: "123456", verification_id: crypto.randomUUID().replaceAll("-", "").slice(0, 22) }),
      );
    for (let i = 0; i < 5; i++) expectProblem(await guess(), 404, "otp_not_found");
    const readsBefore = kvReads;
    const refused = await guess();
    expectProblem(refused, 429, "rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(3000);
    expect(kvReads).toBe(readsBefore);
    const right = await withEnv(
      environment,
      "/verify-otp",
      init(owner, { phone, otp: fast2sms.lastCode(), verification_id: idOf(sent) }),
    );
    expect(right.status).toBe(200);
  });

  it("a right code costs nothing: one address signs in again and again on an allowance of one", async () => {
    const settings = { OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "1" };
    const client = { ip: "198.51.100.92" };
    for (let i = 0; i < 3; i++) {
      const phone = uniquePhone();
      const sent = await send(settings, phone, client);
      expect((await verify(settings, phone, fast2sms.lastCode(), idOf(sent), client)).status).toBe(200);
    }
  });

  it("counts an IPv6 client per /64 and, with more, per /48", async () => {
    // The /56 and /48 get more, in the ratio of their send limits: 5 and 20 times the /64's.
    const settings = {
      OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "2",
      OTP_MAX_SENDS_PER_IP_PER_HOUR: "10",
      OTP_MAX_SENDS_PER_IPV6_56_PER_HOUR: "50",
      OTP_MAX_SENDS_PER_IPV6_48_PER_HOUR: "200",
    };
    const phone = uniquePhone();
    const sent = await send(settings, phone, { ip: "198.51.100.93" });
    const wrong = (ip: string) => verify(settings, phone, "999999", "AAAAAAAAAAAAAAAAAAAAAA", { ip });
    expectProblem(await wrong("2001:db8:5:1::1"), 404, "otp_not_found");
    expectProblem(await wrong("2001:db8:5:1::2"), 404, "otp_not_found");
    expectProblem(await wrong("2001:db8:5:1:ffff::9"), 429, "rate_limited");
    expectProblem(await wrong("2001:db8:5:2::1"), 404, "otp_not_found");
    // 40 at the /48: its /64s together are refused after that, a /64 of another /48 is not.
    for (let net = 3; net < 41; net++) await wrong(`2001:db8:5:${net.toString(16)}::1`);
    expectProblem(await wrong("2001:db8:5:ff::1"), 429, "rate_limited");
    expectProblem(await wrong("2001:db8:6:1::1"), 404, "otp_not_found");
    expect(idOf(sent)).toBeTruthy();
  });
});

describe("KV lag: a verify where the code's KV write has not arrived yet", () => {
  /** OTP_KV as seen from another location: every key written less than 60 s ago is missing there. */
  function laggingKv(): KVNamespace {
    const written = new Map<string, number>();
    return new Proxy(env.OTP_KV, {
      get(target, prop: string) {
        if (prop === "put") {
          return (key: string, ...rest: unknown[]) => {
            written.set(key, Date.now());
            return (target.put as (...a: unknown[]) => Promise<void>).call(target, key, ...rest);
          };
        }
        if (prop === "get") {
          return (key: string, ...rest: unknown[]) => {
            const at = written.get(key);
            if (at !== undefined && Date.now() - at < 60_000) return Promise.resolve(null);
            return (target.get as (...a: unknown[]) => Promise<unknown>).call(target, key, ...rest);
          };
        }
        const value = Reflect.get(target, prop) as unknown;
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  it("the right code signs in, a wrong one is counted as wrong, within the first minute", async () => {
    const environment = envWith({ OTP_KV: laggingKv() });
    const phone = uniquePhone();
    const client = { ip: "198.51.100.94" };
    const sent = await withEnv(environment, "/send-otp", init(client, { phone }));
    const code = fast2sms.lastCode();
    const check = (otp: string) =>
      withEnv(environment, "/verify-otp", init(client, { phone, otp, verification_id: idOf(sent) }));
    const wrong = await check(wrongCode(code));
    expectProblem(wrong, 400, "otp_invalid");
    advance(30_000);
    expect((await check(code)).status).toBe(200);
    // Used up: the same code does not verify twice, from the object's copy either.
    expectProblem(await check(code), 404, "otp_not_found");
  });

  it("after the object has dropped its copy (3 minutes), the code is checked against KV", async () => {
    const phone = uniquePhone();
    const client = { ip: "198.51.100.95" };
    const sent = await send({}, phone, client);
    const code = fast2sms.lastCode();
    advance(200_000);
    expectProblem(await verify({}, phone, wrongCode(code), idOf(sent), client), 400, "otp_invalid");
    expect((await verify({}, phone, code, idOf(sent), client)).status).toBe(200);
  });
});
