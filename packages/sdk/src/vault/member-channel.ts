import type { MemberKeys } from '@personachain/vaults';
import { isProblem } from './errors.js';
import type { MemberAuth, VaultRoutes } from './routes.js';
import {
  MemberSession,
  type SessionAnswer,
  type SessionAuthentication,
  type SessionContext,
} from './session.js';

/**
 * How a client makes member requests: with the member's session (opened or renewed as needed) and the
 * guardian approval it was told to send, if any.
 */
export class MemberChannel {
  private readonly session: MemberSession;
  private approval: string | undefined;

  constructor(
    routes: VaultRoutes,
    member: { projectId: string; vaultId: string; subject: string; keys: MemberKeys },
    context: SessionContext,
  ) {
    this.session = new MemberSession(member, context, {
      open: (body) => routes.openSession(body),
      stepUp: (token, authentication) => routes.stepUp({ session: token }, authentication),
      end: (token) => routes.endSession({ session: token }),
    });
  }

  /** Runs `call` as the member; when the server no longer knows the session, once more with a new one. */
  async call<T>(call: (auth: MemberAuth) => Promise<T>): Promise<T> {
    const token = await this.session.token();
    try {
      return await call(this.auth(token));
    } catch (error) {
      // The session expired early, was ended elsewhere, or the server restarted.
      if (!isProblem(error, 'session-required')) throw error;
      this.session.invalidate(token);
      return call(this.auth(await this.session.token()));
    }
  }

  /** The current session token, opening a session first when there is none. */
  token(): Promise<string> {
    return this.session.token();
  }

  stepUp(authentication: SessionAuthentication): Promise<SessionAnswer> {
    return this.session.stepUp(authentication);
  }

  end(): Promise<void> {
    return this.session.end();
  }

  useApproval(approvalId: string | undefined): void {
    this.approval = approvalId;
  }

  private auth(session: string): MemberAuth {
    return this.approval === undefined ? { session } : { session, approval: this.approval };
  }
}
