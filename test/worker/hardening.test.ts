import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { PhoneLimiter } from "../../src/platform/limiter/phone-limiter";
import { callWith, envWith, uniquePhone, withEnv } from "../helpers/api";
import { expectProblem } from "../helpers/problem";
import { roundTripCounter } from "../helpers/round-trips";
import { advance, setClock, setUpWorkerTest } from "../helpers/setup";

const fast2sms = setUpWorkerTest();

type Client = { ip: string; asn?: number; headers?: Record<string, string> };
const init = (client: Client, json: unknown) => ({
  json,
  headers: { "cf-connecting-ip": client.ip, ...client.headers },
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
  it("a made-up id, or another number's, is refused before any storage call: it costs nobody's allowance", async () => {
    const counter = roundTripCounter();
    const environment = envWith({ OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "1", ...counter.bindings });
    const phone = uniquePhone();
    const other = uniquePhone();
    const client = { ip: "203.0.113.96" };
    const otherSent = await send({}, other, client);
    const bogus = [crypto.randomUUID().replaceAll("-", "").slice(0, 32), idOf(otherSent), "AAAAAAAAAAAAAAAAAAAAAA"];
    for (let i = 0; i < 30; i++) {
      const res = await withEnv(
        environment,
        "/verify-otp",
        init(client, { phone, otp: "123456", verification_id: bogus[i % bogus.length] }),
      );
      expectProblem(res, 404, "otp_not_found");
    }
    expect(counter.calls()).toEqual([]);
    // The allowance of one is untouched: this client's own right code still signs in.
    const sent = await send({}, phone, client);
    const right = await withEnv(
      environment,
      "/verify-otp",
      init(client, { phone, otp: fast2sms.lastCode(), verification_id: idOf(sent) }),
    );
    expect(right.status).toBe(200);
  });

  it("refuses wrong guesses past the allowance before any KV read or call on the number; an owner elsewhere is unaffected", async () => {
    const counter = roundTripCounter();
    const settings = { OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "5", OTP_MAX_ATTEMPTS: "10" };
    const environment = envWith({ ...settings, ...counter.bindings });
    const owner = { ip: "198.51.100.91" };
    const guesser = { ip: "203.0.113.91" };
    const phone = uniquePhone();
    const ownerSent = await withEnv(environment, "/send-otp", init(owner, { phone }));
    const ownerCode = fast2sms.lastCode();
    // The guesser holds a real id (its own code for the number) and guesses wrong.
    const target = uniquePhone();
    const own = await withEnv(environment, "/send-otp", init(guesser, { phone: target }));
    const guess = () =>
      withEnv(
        environment,
        "/verify-otp",
        init(guesser, { phone: target, otp: wrongCode(fast2sms.lastCode()), verification_id: idOf(own) }),
      );
    // Five on the address's allowance; then the id's own tries (its code's ten and one more); then refused.
    const answers: number[] = [];
    for (let i = 0; i < 16; i++) answers.push((await guess()).status);
    expect(answers).toEqual([...Array(10).fill(400), ...Array(6).fill(404)]);
    counter.reset();
    const refused = await guess();
    expectProblem(refused, 429, "rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(3000);
    expect(counter.calls().filter((c) => c.startsWith("kv.") || c.startsWith("limiter."))).toEqual([]);
    const right = await withEnv(
      environment,
      "/verify-otp",
      init(owner, { phone, otp: ownerCode, verification_id: idOf(ownerSent) }),
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

  it("counts an IPv6 client per /64 (and, with more, per /56 and /48)", async () => {
    // The /56 and /48 get more, in the ratio of their send limits: 5 and 20 times the /64's.
    const settings = {
      OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "2",
      OTP_MAX_SENDS_PER_IP_PER_HOUR: "10",
      OTP_MAX_SENDS_PER_IPV6_56_PER_HOUR: "50",
      OTP_MAX_SENDS_PER_IPV6_48_PER_HOUR: "200",
      OTP_MAX_ATTEMPTS: "1",
    };
    const phone = uniquePhone();
    const sent = await send(settings, phone, { ip: "198.51.100.93" });
    const wrong = (ip: string) => verify(settings, phone, wrongCode(fast2sms.lastCode()), idOf(sent), { ip });
    // Two on the /64's allowance, then the id's own two (its one try and one more), then refused.
    const answers: number[] = [];
    for (let i = 0; i < 5; i++) answers.push((await wrong(`2001:db8:5:1::${i + 1}`)).status);
    expect(answers).toEqual([400, 404, 404, 404, 429]);
    // Another /64 of the same /48 has its own allowance.
    expectProblem(await wrong("2001:db8:5:2::1"), 404, "otp_not_found");
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

describe("second review: neighbours and rotated prefixes", () => {
  const noCooldown = { OTP_RESEND_COOLDOWN_SECONDS: "0" };
  /** Two codes asked for from `from`, each guessed wrong five times. */
  async function tenWrongGuesses(phone: string, from: Client, settings: Record<string, unknown> = noCooldown) {
    for (let round = 0; round < 2; round++) {
      const sent = await send(settings, phone, from);
      expect(sent.status).toBe(200);
      const code = fast2sms.lastCode();
      for (let i = 0; i < 5; i++) await verify(settings, phone, wrongCode(code), idOf(sent), from);
    }
  }

  it("a carrier neighbour's failures slow down only the address they came from, not other carrier addresses", async () => {
    const phone = uniquePhone();
    await tenWrongGuesses(phone, { ip: "100.64.70.1", asn: 55836 });
    const there = await send(noCooldown, phone, { ip: "100.64.70.1", asn: 55836 });
    expectProblem(there, 429, "too_many_attempts");
    expect(Number(there.headers.get("retry-after"))).toBeLessThanOrEqual(3600);
    expect((await send(noCooldown, phone, { ip: "100.64.70.2", asn: 55836 })).status).toBe(200);
    expect((await send(noCooldown, phone, { ip: "100.99.7.7", asn: 45609 })).status).toBe(200);
  });

  it("an IPv6 neighbour in the same /48 delays the owner by at most an hour, never locks for a day", async () => {
    const phone = uniquePhone();
    await tenWrongGuesses(phone, { ip: "2001:db8:aa:1::1", asn: 64500 });
    const owner = { ip: "2001:db8:aa:ff00::1", asn: 64500 };
    const held = await send(noCooldown, phone, owner);
    expectProblem(held, 429, "too_many_attempts");
    const wait = Number(held.headers.get("retry-after"));
    expect(wait).toBeLessThanOrEqual(3600);
    advance(wait * 1000);
    expect((await send(noCooldown, phone, owner)).status).toBe(200);
  });

  it("without verification ids, a carrier neighbour's guesses throttle the owner there too, not lock", async () => {
    const settings = { ...noCooldown, OTP_REQUIRE_VERIFICATION_ID: "false", OTP_MAX_ATTEMPTS: "10" };
    const phone = uniquePhone();
    const nat = { ip: "100.64.71.1", asn: 55836 };
    const away = { ip: "198.51.100.97" };
    for (let round = 0; round < 2; round++) {
      expect((await send(settings, phone, away)).status).toBe(200);
      const code = fast2sms.lastCode();
      for (let i = 0; i < 5; i++) {
        await callWith(settings, "/verify-otp", init(nat, { phone, otp: wrongCode(code) }));
      }
    }
    const held = await send(settings, phone, nat);
    expectProblem(held, 429, "too_many_attempts");
    expect(Number(held.headers.get("retry-after"))).toBeLessThanOrEqual(3600);
  });

  it("rotating the /64s of one /48 buys no more requests than the /48's share, and refused sends leave no budget rows", async () => {
    setClock(Date.UTC(2036, 2, 3, 12));
    // The /48's request allowance: 30 requests × (20 sends per /48 ÷ 10 per address) = 60.
    const settings = {
      OTP_MAX_SEND_REQUESTS_PER_IP_PER_HOUR: "30",
      OTP_MAX_SENDS_PER_IP_PER_HOUR: "10",
      OTP_MAX_SENDS_PER_IPV6_56_PER_HOUR: "20",
      OTP_MAX_SENDS_PER_IPV6_48_PER_HOUR: "20",
      SMS_BUDGET_SHARDS: "1",
    };
    const phone = uniquePhone();
    expect((await send(settings, phone, { ip: "2001:db8:cc:ffff::1" })).status).toBe(200);
    const shardRows = () =>
      runInDurableObject(
        env.BUDGET_SHARD.getByName("sms-budget:2036-03-03:0"),
        (_, state) => state.storage.sql.exec("SELECT count(*) AS n FROM shard_tickets").one().n,
      );
    const rowsBefore = await shardRows();
    const codes: string[] = [];
    for (let i = 1; i <= 70; i++) {
      const res = await send(settings, phone, { ip: `2001:db8:cc:${i.toString(16)}::1` });
      codes.push(res.status === 429 ? String(res.body.code) : String(res.status));
    }
    // One send went out before; the 59 that follow reach the number (and are refused by its limits), the rest are refused first.
    expect(codes.filter((c) => c === "rate_limited").length).toBeGreaterThan(0);
    const counted = codes.slice(0, 59);
    expect(new Set(counted).size).toBe(1);
    expect(codes.slice(59)).toEqual(Array(11).fill("rate_limited"));
    expect(await shardRows()).toBe(rowsBefore);
  });

  it("verifies refused by the allowance write nothing under the client's keys", async () => {
    const settings = { OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "2", OTP_MAX_ATTEMPTS: "2" };
    const client = { ip: "203.0.113.98" };
    const phone = uniquePhone();
    const sent = await send(settings, phone, client);
    const wrong = () => verify(settings, phone, wrongCode(fast2sms.lastCode()), idOf(sent), client);
    // The address's two, then the id's three.
    for (let i = 0; i < 5; i++) expect((await wrong()).status).not.toBe(429);
    const rows = () =>
      Promise.all(
        [`verify:${client.ip}`, `verify-id:${idOf(sent)}`].map((name) =>
          runInDurableObject(env.QUOTA_COUNTER.getByName(name), (_, state) => ({
            hits: state.storage.sql.exec("SELECT count(*) AS n FROM quota_hits").one().n,
            released: state.storage.sql.exec("SELECT count(*) AS n FROM released_tickets").one().n,
          })),
        ),
      );
    const before = await rows();
    for (let i = 0; i < 50; i++) expectProblem(await wrong(), 429, "rate_limited");
    expect(await rows()).toEqual(before);
  });

  it("a backend verifying for its users names each one's address: one user's failures do not spend another's allowance", async () => {
    const secret = "proxy-secret-0123456789abcdefghijklmnopqrstuv";
    const settings = { OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "2", OTP_MAX_ATTEMPTS: "1", TRUSTED_PROXY_SECRET: secret };
    const viaBackend = (user: string): Client => ({
      ip: "192.0.2.10",
      headers: { "x-otp-client-ip": user, "x-otp-proxy-secret": secret },
    });
    const theirs = uniquePhone();
    const theirSent = await send(settings, theirs, viaBackend("198.51.100.41"));
    const theirCode = fast2sms.lastCode();
    const phone = uniquePhone();
    const sent = await send(settings, phone, viaBackend("198.51.100.40"));
    const code = fast2sms.lastCode();
    // One user spends its address's two and its id's two.
    for (let i = 0; i < 4; i++)
      await verify(settings, theirs, wrongCode(theirCode), idOf(theirSent), viaBackend("198.51.100.41"));
    expectProblem(
      await verify(settings, theirs, wrongCode(theirCode), idOf(theirSent), viaBackend("198.51.100.41")),
      429,
      "rate_limited",
    );
    // Another user of the same backend is not held by it.
    expect((await verify(settings, phone, code, idOf(sent), viaBackend("198.51.100.40"))).status).toBe(200);
  });
});

describe("third pass: a shared address's allowance, one device's share of the ceiling, a proxied carrier user", () => {
  it("one device cannot use up a carrier address's verify allowance for the others: a fresh id still gets its tries", async () => {
    const settings = {
      OTP_MAX_VERIFIES_PER_IP_PER_HOUR: "3",
      OTP_MAX_SENDS_PER_IP_PER_HOUR: "10",
      OTP_MAX_SENDS_PER_CARRIER_IP_PER_HOUR: "10",
      OTP_RESEND_COOLDOWN_SECONDS: "0",
    };
    const nat = { ip: "100.64.33.1", asn: 55836 };
    const own = uniquePhone();
    const mine = await send(settings, own, nat);
    const statuses: number[] = [];
    for (let i = 0; i < 15; i++) {
      statuses.push((await verify(settings, own, "000000", idOf(mine), nat)).status);
    }
    // Three on the address's allowance, six on the id's own (its five tries and one more), then refused.
    expect(statuses.slice(-3)).toEqual([429, 429, 429]);
    const owner = uniquePhone();
    const sent = await send(settings, owner, nat);
    expect((await verify(settings, owner, fast2sms.lastCode(), idOf(sent), nat)).status).toBe(200);
  });

  it("an id older than its code can be is refused before any storage call", async () => {
    const phone = uniquePhone();
    const sent = await send({}, phone, { ip: "198.51.100.99" });
    advance(400_000);
    const counter = roundTripCounter();
    const res = await withEnv(
      envWith(counter.bindings),
      "/verify-otp",
      init({ ip: "198.51.100.99" }, { phone, otp: "123456", verification_id: idOf(sent) }),
    );
    expectProblem(res, 404, "otp_not_found");
    expect(counter.calls()).toEqual([]);
  });

  it("one device behind a carrier NAT cannot fill the number-wide ceiling that holds other networks", async () => {
    const settings = {
      OTP_RESEND_COOLDOWN_SECONDS: "0",
      OTP_MAX_FAILURES_PER_DAY: "5",
      OTP_MAX_FAILURES_PER_NUMBER_PER_DAY: "10",
    };
    const phone = uniquePhone();
    const nat = { ip: "100.64.44.1", asn: 55836 };
    let wrong = 0;
    for (let hour = 0; hour < 4; hour++) {
      const sent = await send(settings, phone, nat);
      if (sent.status === 200) {
        const code = fast2sms.lastCode();
        for (let i = 0; i < 5; i++)
          if ((await verify(settings, phone, wrongCode(code), idOf(sent), nat)).status === 400) wrong++;
      }
      advance(3601_000);
    }
    expect(wrong).toBeGreaterThanOrEqual(10);
    // Past the number's ceiling of 10, but counted at most 5 from that one key: another network is not locked.
    expect((await send(settings, phone, { ip: "203.0.113.77" })).status).toBe(200);
  });

  it("through a trusted backend, a carrier user's network is named too, and the neighbour's failures throttle", async () => {
    const secret = "proxy-secret-0123456789abcdefghijklmnopqrstuv";
    const settings = { OTP_RESEND_COOLDOWN_SECONDS: "0", TRUSTED_PROXY_SECRET: secret };
    const viaBackend: Client = {
      ip: "192.0.2.20",
      headers: { "x-otp-client-ip": "100.64.55.1", "x-otp-client-asn": "55836", "x-otp-proxy-secret": secret },
    };
    const phone = uniquePhone();
    for (let round = 0; round < 2; round++) {
      const sent = await send(settings, phone, viaBackend);
      const code = fast2sms.lastCode();
      for (let i = 0; i < 5; i++) await verify(settings, phone, wrongCode(code), idOf(sent), viaBackend);
    }
    const held = await send(settings, phone, { ip: "100.64.55.1", asn: 55836 });
    expectProblem(held, 429, "too_many_attempts");
    expect(Number(held.headers.get("retry-after"))).toBeLessThanOrEqual(3600);
  });
});
