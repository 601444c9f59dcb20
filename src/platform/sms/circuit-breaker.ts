/**
 * A per-isolate circuit breaker for one gateway: after `threshold` failures
 * in a row it opens, and the failover skips the gateway for `coolOffMs`, so
 * users do not each wait for a timeout of a gateway that is down. Then it is
 * half-open: one request probes the gateway (others still skip it); a success
 * closes it, a failure opens it for another cool-off. A probe that never
 * reports back (its request was cancelled) is forgotten after `probeLeaseMs`,
 * so the gateway always comes back. Each isolate has its own breakers: they
 * need not agree, only recover.
 */
export interface BreakerOptions {
  threshold: number;
  coolOffMs: number;
  probeLeaseMs: number;
  now: () => number;
}

export const BREAKER_DEFAULTS: BreakerOptions = {
  threshold: 3,
  coolOffMs: 30_000,
  probeLeaseMs: 60_000,
  now: () => Date.now(),
};

export type BreakerState = "closed" | "open" | "half_open";

export class CircuitBreaker {
  private failures = 0;
  private openUntil = 0;
  private probeSince: number | undefined;

  constructor(private readonly options: BreakerOptions = BREAKER_DEFAULTS) {}

  get state(): BreakerState {
    if (this.failures < this.options.threshold) return "closed";
    return this.options.now() < this.openUntil ? "open" : "half_open";
  }

  /** When an open breaker lets a probe through (0 when it is closed). */
  get reopensAt(): number {
    return this.failures < this.options.threshold ? 0 : this.openUntil;
  }

  /** Whether a request may use the gateway now; in half-open state, only one probe at a time. */
  tryAcquire(): boolean {
    switch (this.state) {
      case "closed":
        return true;
      case "open":
        return false;
      case "half_open": {
        const now = this.options.now();
        if (this.probeSince !== undefined && now - this.probeSince < this.options.probeLeaseMs) return false;
        this.probeSince = now;
        return true;
      }
    }
  }

  /** The gateway answered (it accepted, or refused only the number). */
  recordSuccess(): void {
    this.failures = 0;
    this.openUntil = 0;
    this.probeSince = undefined;
  }

  /** The gateway failed in a way that says it, or its account, is in trouble. */
  recordFailure(): void {
    this.failures += 1;
    this.probeSince = undefined;
    if (this.failures >= this.options.threshold) this.openUntil = this.options.now() + this.options.coolOffMs;
  }
}
