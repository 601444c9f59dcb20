/** Sequential storage round trips a request waits for, per endpoint (the targets: at most 3 before the SMS, and 2 for a verify). */
export interface StorageRoundTrips {
  sendOtpBeforeSms: number;
  verifyOtp: number;
  /** How they were counted (bench/lib/worker-measurements.ts). */
  method: string;
}
