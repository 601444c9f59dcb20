import { DurableObject } from "cloudflare:workers";
import { SessionTable } from "./session-table";
import type {
  CreateResult,
  IssuedToken,
  NewSession,
  PresentedToken,
  RefreshResult,
  SessionInfo,
  SessionLimits,
  SessionStoreRpc,
} from "./session-types";

/**
 * The sessions made before they moved to the number's PhoneLimiter (their
 * refresh tokens are `rt1`, naming this object: `env.SESSION_STORE.idFromName(e164)`).
 * They live here until they end or expire (SESSION_MAX_AGE_SECONDS at most),
 * with the same rules (session-table.ts); no new session is made here. Once
 * no session is left, the alarm deletes the object's storage.
 */
export class SessionStore extends DurableObject<Env> implements SessionStoreRpc {
  private readonly sessions = new SessionTable(this.ctx.storage, (expired) => this.sessionsExpired(expired));

  /** Kept so the store's rules stay whole; the Worker makes no session here any more (tests make `rt1` ones). */
  async create(e164: string, session: NewSession, limits: SessionLimits): Promise<CreateResult> {
    return await this.armed(this.sessions.create(e164, session, limits));
  }

  async refresh(presented: PresentedToken, successor: IssuedToken, limits: SessionLimits): Promise<RefreshResult> {
    return await this.armed(this.sessions.refresh(presented, successor, limits));
  }

  async undoRefresh(sessionId: string, successorHash: string): Promise<void> {
    this.sessions.undoRefresh(sessionId, successorHash);
  }

  async undoCreate(sessionId: string): Promise<void> {
    await this.armed(this.sessions.undoCreate(sessionId));
  }

  async logout(sessionId: string, familyHash: string): Promise<string | null> {
    return await this.armed(this.sessions.logout(sessionId, familyHash));
  }

  async endAll(caller: string | null): Promise<string[] | null> {
    return await this.armed(this.sessions.endAll(caller));
  }

  async endOthers(caller: string): Promise<string[] | null> {
    return await this.armed(this.sessions.endOthers(caller));
  }

  async end(sessionId: string, caller: string | null = null): Promise<"ended" | "not_found" | "caller_ended"> {
    return await this.armed(this.sessions.end(sessionId, caller));
  }

  async list(caller: string | null): Promise<SessionInfo[] | null> {
    return await this.emptied(this.sessions.list(caller));
  }

  async has(sessionId: string): Promise<boolean> {
    return await this.emptied(this.sessions.has(sessionId));
  }

  async count(): Promise<number> {
    return await this.emptied(this.sessions.count());
  }

  async adminEndAll(): Promise<string[]> {
    return (await this.armed(this.sessions.endAll(null))) ?? [];
  }

  /**
   * Sessions that just expired (pruned by this call, or by the alarm at
   * their expiry): the Worker's class (src/index.ts) tells the app's backend.
   * Called synchronously, inside the call that pruned them; it must not await.
   */
  protected sessionsExpired(_sessions: readonly { id: string; e164: string }[]): void {}

  /** Deletes ended sessions and successors past their window; deletes everything once nothing is left. */
  override async alarm(): Promise<void> {
    if (!this.sessions.prune()) {
      await this.ctx.storage.deleteAll();
      return;
    }
    await this.schedule();
  }

  /** `result`, after arming the alarm if the call moved it. */
  private async armed<T>(result: T): Promise<T> {
    if (this.sessions.changed) await this.schedule();
    return result;
  }

  /** `result` of a read: an object the read finds empty (a number with no session made here) is deleted by its alarm. */
  private async emptied<T>(result: T): Promise<T> {
    if (this.sessions.count() === 0) await this.schedule();
    return result;
  }

  /**
   * The alarm fires at the next expiry or end of a grace window, or at once
   * when no session is left (it then deletes the object's storage).
   */
  private async schedule(): Promise<void> {
    await this.ctx.storage.setAlarm(this.sessions.nextAlarm() ?? Date.now());
  }
}

/** The store of one number, typed by the class's RPC surface (see limiterFor in phone-limiter.ts for why the cast). */
export function sessionStoreFor(namespace: DurableObjectNamespace<SessionStore>, id: DurableObjectId): SessionStoreRpc {
  return namespace.get(id) as unknown as SessionStoreRpc;
}
