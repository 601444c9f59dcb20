import { afterEach, beforeEach, vi } from "vitest";
import { ISOLATE_BREAKERS } from "../../src/platform/sms/gateway-breakers";
import { FakeFast2Sms } from "./fake-fast2sms";
import { FakeMsg91 } from "./fake-msg91";
import { FakeTwoFactor } from "./fake-twofactor";

/**
 * The one setup of a worker test file: a fake Fast2SMS installed before each
 * test (outbound HTTP is faked in one place, outbound.ts) with the isolate's
 * circuit breakers closed (they are shared by every settings object), and
 * after each test the real clock and every mock restored. Returns the fake.
 */
export function setUpWorkerTest(): FakeFast2Sms {
  const fast2sms = new FakeFast2Sms();
  beforeEach(() => {
    ISOLATE_BREAKERS.clear();
    fast2sms.install();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });
  return fast2sms;
}

/**
 * setUpWorkerTest with the MSG91 and 2Factor fakes installed before each test
 * too, for the files whose tests name those gateways in SMS_PROVIDERS.
 */
export function setUpGatewaysTest(): { fast2sms: FakeFast2Sms; msg91: FakeMsg91; twofactor: FakeTwoFactor } {
  const fast2sms = setUpWorkerTest();
  const msg91 = new FakeMsg91();
  const twofactor = new FakeTwoFactor();
  beforeEach(() => {
    msg91.install();
    twofactor.install();
  });
  return { fast2sms, msg91, twofactor };
}

/**
 * Moves the clock of the app and its Durable Objects (they share this
 * isolate with the test) forward by `ms`; only Date is faked, so timers and
 * storage keep running.
 */
export function advance(ms: number): void {
  vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + ms });
}

/** Sets the clock of the app and its Durable Objects to `at` (ms since the epoch). */
export function setClock(at: number): void {
  vi.useFakeTimers({ toFake: ["Date"], now: at });
}
