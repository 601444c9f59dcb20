import { afterEach, describe, expect, it, vi } from "vitest";
import { SmsFailedError, type SmsFailure } from "../../src/kernel/errors/service-error";
import { CircuitBreaker } from "../../src/platform/sms/circuit-breaker";
import { createFailoverGateway } from "../../src/platform/sms/failover-gateway";
import type { SmsGateway } from "../../src/platform/sms/sms-gateway";

/** The failover gateway and its breakers alone, with stub gateways and a clock the test moves. */
afterEach(() => vi.restoreAllMocks());

const message = {
  to: { e164: "+919876543210", country: "IN" as const, national: "9876543210" },
  code: "482913",
  appName: "A",
};

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

function stub(
  name: string,
  outcome: () => Partial<SmsFailure> | undefined,
  onSend?: () => void,
): SmsGateway & { calls: number } {
  const p = {
    name,
    channels: ["sms"] as const,
    calls: 0,
    async send() {
      p.calls += 1;
      onSend?.();
      const f = outcome();
      if (f) throw new SmsFailedError({ gateway: name, delivery: "not_sent", retryable: true, reason: "down", ...f });
      return { messageId: `${name}-${p.calls}` };
    },
  };
  return p;
}

/** The SmsFailedError a send throws (fails the test if it resolves). */
async function failureOf(g: SmsGateway): Promise<SmsFailedError> {
  try {
    await g.send(message);
  } catch (err) {
    if (err instanceof SmsFailedError) return err;
    throw err;
  }
  throw new Error("the send succeeded");
}

const quiet = () => {
  vi.spyOn(console, "log").mockImplementation(() => undefined);
  vi.spyOn(console, "warn").mockImplementation(() => undefined);
};

describe("CircuitBreaker", () => {
  it("closed → open after 3 failures → half-open after 30 s with one probe → closed on success", () => {
    const c = clock();
    const b = new CircuitBreaker({ threshold: 3, coolOffMs: 30_000, probeLeaseMs: 60_000, now: c.now });
    b.recordFailure();
    b.recordFailure();
    expect(b.state).toBe("closed");
    b.recordFailure();
    expect(b.state).toBe("open");
    expect(b.tryAcquire()).toBe(false);
    c.advance(30_000);
    expect(b.state).toBe("half_open");
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false); // one probe at a time
    b.recordSuccess();
    expect(b.state).toBe("closed");
    expect(b.tryAcquire()).toBe(true);
  });

  it("a probe that never reports back is forgotten after its lease, so the gateway comes back", () => {
    const c = clock();
    const b = new CircuitBreaker({ threshold: 1, coolOffMs: 1000, probeLeaseMs: 5000, now: c.now });
    b.recordFailure();
    c.advance(1000);
    expect(b.tryAcquire()).toBe(true);
    c.advance(4999);
    expect(b.tryAcquire()).toBe(false);
    c.advance(1);
    expect(b.tryAcquire()).toBe(true);
  });

  it("a success in between resets the count", () => {
    const b = new CircuitBreaker({ threshold: 2, coolOffMs: 1000, probeLeaseMs: 1000, now: () => 0 });
    b.recordFailure();
    b.recordSuccess();
    b.recordFailure();
    expect(b.state).toBe("closed");
  });
});

describe("createFailoverGateway", () => {
  it("when every gateway is open, only the one closest to reopening is tried", async () => {
    quiet();
    const c = clock();
    const a = stub("a", () => ({}));
    const b = stub("b", () => ({}));
    const g = createFailoverGateway([a, b], {
      deadlineMs: 20_000,
      breaker: { threshold: 1, coolOffMs: 30_000, probeLeaseMs: 60_000, now: c.now },
    });
    await expect(g.send(message)).rejects.toBeInstanceOf(SmsFailedError); // a fails and opens, then b
    expect([a.calls, b.calls]).toEqual([1, 1]);
    c.advance(10);
    const err = await failureOf(g);
    expect([a.calls, b.calls]).toEqual([2, 1]); // a opened first, so it reopens first: the one attempt
    expect(err.failure.reason).toMatch(/b: skipped \(circuit open\)/);
    expect(err.failure.retryable).toBe(true);
  });

  it("no further gateway is started with less than 1 s of SMS_SEND_DEADLINE_MS left", async () => {
    quiet();
    const c = clock();
    const a = stub(
      "a",
      () => ({ delivery: "unknown" }),
      () => c.advance(4_500),
    );
    const b = stub("b", () => undefined);
    const g = createFailoverGateway([a, b], {
      deadlineMs: 5_000,
      breaker: { threshold: 3, coolOffMs: 1, probeLeaseMs: 1, now: c.now },
    });
    const err = await failureOf(g);
    expect(err).toBeInstanceOf(SmsFailedError);
    expect(err.failure.delivery).toBe("unknown");
    expect(b.calls).toBe(0);
  });

  it("the chain's failure is unknown if any attempt's was, and carries each attempt", async () => {
    quiet();
    const g = createFailoverGateway(
      [stub("a", () => ({ delivery: "unknown" })), stub("b", () => ({ delivery: "not_sent", retryable: false }))],
      { deadlineMs: 20_000 },
    );
    const err = await failureOf(g);
    expect(err.failure).toMatchObject({ gateway: "a,b", delivery: "unknown" });
    expect(err.failure.attempts?.map((f) => f.gateway)).toEqual(["a", "b"]);
  });

  it("one gateway alone: its own failure, unchanged", async () => {
    quiet();
    const g = createFailoverGateway([stub("a", () => ({ gatewayCode: 416, retryable: false }))], {
      deadlineMs: 20_000,
    });
    const err = await failureOf(g);
    expect(err.failure).toEqual({
      gateway: "a",
      delivery: "not_sent",
      retryable: false,
      reason: "down",
      gatewayCode: 416,
    });
  });

  it("passes on the message id of the gateway that accepted, naming that gateway", async () => {
    const a = stub("a", () => ({ delivery: "not_sent" }));
    const b = stub("b", () => undefined);
    expect(await createFailoverGateway([a, b], { deadlineMs: 10_000 }).send(message)).toEqual({
      messageId: "b-1",
      gateway: "b",
      channel: "sms",
      failedOverFrom: ["a"],
    });
  });

  it("channels are the union of its gateways'", () => {
    const voice: SmsGateway = { name: "v", channels: ["sms", "voice"], send: async () => ({ messageId: undefined }) };
    expect(createFailoverGateway([stub("a", () => undefined), voice], { deadlineMs: 1000 }).channels).toEqual([
      "sms",
      "voice",
    ]);
  });
});
