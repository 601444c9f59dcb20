import { type Camel, camel } from "./camel.js";
import { meansSignedOut, PhoneOtpError, signedOut } from "./errors.js";
import { caller, type FetchLike } from "./http.js";
import { type ItemStorage, jsonSlot, type PhoneOtpStorage, toStorage } from "./storage.js";
import {
  type GetVerificationStatusBody,
  type GetVerificationStatusResponse,
  type ListSessionsResponse,
  type RefreshTokenResponse,
  ROUTES,
  type SendOtpBody,
  type SendOtpResponse,
  type VerifyOtpBody,
  type VerifyOtpResponse,
} from "./wire-types.js";

export interface PhoneOtpClientOptions {
  /** The service's URL, e.g. "https://otp.example.com". */
  baseUrl: string;
  /** The fetch to call; the global fetch by default. */
  fetch?: FetchLike;
  /** Where tokens are kept; in memory by default (see PhoneOtpStorage). */
  storage?: PhoneOtpStorage | ItemStorage;
  /** The prefix of the storage keys; "phone-otp" by default. */
  storageKey?: string;
}

export type SendOtpOptions = Camel<SendOtpBody>;
export type SendOtpResult = Camel<Omit<SendOtpResponse, "message">>;
export type VerifyOtpOptions = Camel<VerifyOtpBody>;
export type VerifyOtpResult = Camel<Omit<VerifyOtpResponse, "message" | "status">>;
export type VerificationStatusOptions = Camel<GetVerificationStatusBody>;
export type VerificationStatus = Camel<GetVerificationStatusResponse>;
export type RefreshResult = Camel<RefreshTokenResponse>;
export type PhoneOtpSession = Camel<ListSessionsResponse["sessions"][number]>;

export interface PhoneOtpClient {
  /** Sends a code; remembers its verification id (and number) for verifyOtp and verificationStatus. */
  sendOtp(options: SendOtpOptions): Promise<SendOtpResult>;
  /** Checks a code (with the last send's verification id unless given); on success the client is signed in. */
  verifyOtp(options: VerifyOtpOptions): Promise<VerifyOtpResult>;
  /** Whether the last send's (or the given) code reached the phone. */
  verificationStatus(options?: VerificationStatusOptions): Promise<VerificationStatus>;
  /** Rotates the refresh token now (shared with any refresh already under way). */
  refresh(): Promise<RefreshResult>;
  /** A valid access token, refreshed first when it is about to expire; null when signed out. */
  accessToken(): Promise<string | null>;
  /** Ends this session on the service and forgets its tokens. */
  logout(): Promise<void>;
  /** Ends every session of the number, then forgets this one's tokens. */
  logoutAll(): Promise<void>;
  /** The number's live sessions, most recently used first. */
  listSessions(): Promise<PhoneOtpSession[]>;
  /** Ends one session by id (from listSessions). */
  endSession(id: string): Promise<void>;
}

/** What the client stores for a session. */
interface StoredSession {
  /**
   * The service the tokens are for (baseUrl without trailing slashes): a
   * client of another service over the same storage and key finds no session,
   * so it never presents these tokens to that service.
   */
  service: string;
  accessToken: string;
  /** Epoch milliseconds, by this device's clock when the token arrived. */
  accessExpiresAt: number;
  refreshToken: string;
}

interface PendingVerification {
  phone: string;
  verificationId: string;
}

/** An access token this close to its expiry is refreshed first (JWT_TTL_SECONDS is at least 60). */
const REFRESH_MARGIN_MS = 30_000;

const sessionOf =
  (service: string) =>
  (v: unknown): v is StoredSession =>
    typeof v === "object" &&
    v !== null &&
    (v as StoredSession).service === service &&
    typeof (v as StoredSession).accessToken === "string" &&
    typeof (v as StoredSession).refreshToken === "string" &&
    typeof (v as StoredSession).accessExpiresAt === "number";

const isPending = (v: unknown): v is PendingVerification =>
  typeof v === "object" &&
  v !== null &&
  typeof (v as PendingVerification).phone === "string" &&
  typeof (v as PendingVerification).verificationId === "string";

const stored = (
  service: string,
  answer: { access_token: string; expires_in: number; refresh_token: string },
): StoredSession => ({
  service,
  accessToken: answer.access_token,
  accessExpiresAt: Date.now() + answer.expires_in * 1000,
  refreshToken: answer.refresh_token,
});

/** A client of this service for browsers, React Native and Node 20+ (it needs only fetch). */
export function createPhoneOtpClient(options: PhoneOtpClientOptions): PhoneOtpClient {
  if (typeof options?.baseUrl !== "string" || options.baseUrl === "") throw new TypeError("baseUrl is required");
  const fetchFn: FetchLike =
    options.fetch ??
    ((url, init) => {
      const globalFetch = (globalThis as { fetch?: FetchLike }).fetch;
      if (!globalFetch) throw new TypeError("no global fetch: pass one as the fetch option");
      return globalFetch(url, init);
    });
  const call = caller(options.baseUrl, fetchFn);
  const storage = toStorage(options.storage);
  const prefix = options.storageKey ?? "phone-otp";
  const service = options.baseUrl.replace(/\/+$/, "");
  const session = jsonSlot(storage, `${prefix}:session`, sessionOf(service));
  const pending = jsonSlot(storage, `${prefix}:verification`, isPending);

  /** The one refresh under way: every caller awaits it, so a refresh token is presented once. */
  let refreshing: Promise<{ session: StoredSession; answer?: RefreshTokenResponse }> | undefined;

  async function rotate(force: boolean): Promise<{ session: StoredSession; answer?: RefreshTokenResponse }> {
    const current = await session.read();
    if (!current) throw signedOut();
    if (!force && current.accessExpiresAt - Date.now() > REFRESH_MARGIN_MS) return { session: current };
    let answer: RefreshTokenResponse;
    try {
      answer = await call<RefreshTokenResponse>(ROUTES.refreshToken, {
        body: { refresh_token: current.refreshToken },
      });
    } catch (err) {
      // The session is over on the service: forget it, unless a new sign-in replaced it meanwhile.
      if (err instanceof PhoneOtpError && err.code === "invalid_refresh_token") {
        if ((await session.read())?.refreshToken === current.refreshToken) await session.clear();
      }
      throw err;
    }
    const next = stored(service, answer);
    if ((await session.read())?.refreshToken === current.refreshToken) await session.write(next);
    return { session: next, answer };
  }

  function shared(force: boolean) {
    refreshing ??= rotate(force).finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  }

  async function accessToken(): Promise<string | null> {
    try {
      if (!refreshing) {
        const current = await session.read();
        if (!current) return null;
        if (current.accessExpiresAt - Date.now() > REFRESH_MARGIN_MS) return current.accessToken;
      }
      return (await shared(false)).session.accessToken;
    } catch (err) {
      if (meansSignedOut(err)) return null;
      throw err;
    }
  }

  /** A call with the access token; on invalid_token (a key rotated, a clock off) one refresh and one retry. */
  async function withBearer<T>(route: (typeof ROUTES)[keyof typeof ROUTES], id?: string): Promise<T> {
    const token = await accessToken();
    if (token === null) throw signedOut();
    try {
      return await call<T>(route, { bearer: token, ...(id !== undefined ? { id } : {}) });
    } catch (err) {
      if (!(err instanceof PhoneOtpError && err.code === "invalid_token")) throw err;
      const { session: next } = await shared(true);
      return call<T>(route, { bearer: next.accessToken, ...(id !== undefined ? { id } : {}) });
    }
  }

  return {
    async sendOtp({ phone, channel, turnstileToken }) {
      const body: SendOtpBody = { phone };
      if (channel !== undefined) body.channel = channel;
      if (turnstileToken !== undefined) body.turnstile_token = turnstileToken;
      const { message: _message, ...answer } = await call<SendOtpResponse>(ROUTES.sendOtp, { body });
      await pending.write({ phone, verificationId: answer.verification_id });
      return camel(answer);
    },

    async verifyOtp({ phone, otp, verificationId }) {
      const id = verificationId ?? (await pending.read())?.verificationId;
      const body: VerifyOtpBody = { phone, otp };
      if (id !== undefined) body.verification_id = id;
      const { message: _m, status: _s, ...answer } = await call<VerifyOtpResponse>(ROUTES.verifyOtp, { body });
      await refreshing?.catch(() => undefined);
      await session.write(stored(service, answer));
      await pending.clear();
      return camel(answer);
    },

    async verificationStatus(given) {
      const target = given ?? (await pending.read());
      if (!target) throw new TypeError("no code was sent: call sendOtp first, or pass phone and verificationId");
      const body: GetVerificationStatusBody = { phone: target.phone, verification_id: target.verificationId };
      return camel(await call<GetVerificationStatusResponse>(ROUTES.getVerificationStatus, { body }));
    },

    async refresh() {
      const { answer } = await shared(true);
      if (answer) return camel(answer);
      // A refresh already under way that found the token fresh: rotate now, as asked.
      const again = await shared(true);
      return camel(again.answer!);
    },

    accessToken,

    async logout() {
      await refreshing?.catch(() => undefined);
      const current = await session.read();
      await pending.clear();
      // Nothing of this service's stored (or another service's session under the key): nothing to end or remove.
      if (!current) return;
      await session.clear();
      try {
        await call(ROUTES.logout, { body: { refresh_token: current.refreshToken } });
      } catch (err) {
        if (!(err instanceof PhoneOtpError && err.code === "invalid_refresh_token")) throw err;
      }
    },

    async logoutAll() {
      await withBearer(ROUTES.logoutAll);
      await session.clear();
      await pending.clear();
    },

    async listSessions() {
      return camel((await withBearer<ListSessionsResponse>(ROUTES.listSessions)).sessions);
    },

    async endSession(id: string) {
      if (typeof id !== "string" || id === "") throw new TypeError("endSession needs a session id");
      await withBearer(ROUTES.deleteSession, id);
    },
  };
}
