// The parts of oidc-provider 9 (which ships no type declarations) that this module uses.
declare module 'oidc-provider' {
  import type { KeyObject } from 'node:crypto';
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface ProviderClient {
    clientId: string;
    clientName?: string;
    clientSecret?: string;
    compareClientSecret(actual: string): boolean;
  }

  export class ExternalSigningKey {
    kid: string;
    alg: string;
    keyObject(): KeyObject;
    sign(data: Uint8Array): Promise<Uint8Array>;
  }

  /** The Koa context the provider hands to hooks and events (only what this module reads). */
  export interface KoaContextWithOIDC {
    oidc: {
      route?: string;
      params?: Record<string, unknown>;
      session?: { accountId?: string; acr?: string };
      result?: { login?: unknown };
      client?: ProviderClient;
      entities?: { RefreshToken?: { grantId?: string } };
    };
    status: number;
    type: string;
    body: unknown;
    get(header: string): string;
    set(header: string, value: string): void;
    append(header: string, value: string): void;
  }

  export class InteractionCheck {
    constructor(reason: string, description: string, check: (ctx: KoaContextWithOIDC) => boolean);
  }

  export const interactionPolicy: {
    Check: typeof InteractionCheck & { REQUEST_PROMPT: true; NO_NEED_TO_PROMPT: false };
    base(): { get(name: string): { checks: { add(check: InteractionCheck): void } } | undefined };
  };

  export const errors: {
    InvalidTarget: new (description?: string) => Error;
    SessionNotFound: new (description?: string) => Error;
  };

  export interface InteractionDetails {
    uid: string;
    returnTo: string;
    prompt: {
      name: 'login' | 'consent' | string;
      reasons: string[];
      details: {
        missingOIDCScope?: string[];
        missingOIDCClaims?: string[];
        missingResourceScopes?: Record<string, string[]>;
      };
    };
    params: Record<string, string | undefined> & { client_id: string };
    session?: { accountId: string };
    grantId?: string;
  }

  export interface InteractionResult {
    login?: { accountId: string; amr?: string[]; acr?: string; ts?: number; remember?: boolean };
    consent?: { grantId: string };
    error?: string;
    error_description?: string;
  }

  export interface Grant {
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    /** Space-separated, granted or rejected. */
    getOIDCScopeEncountered(): string;
    getOIDCClaimsEncountered(): string[];
    getResourceScopeEncountered(resource: string): string;
    save(): Promise<string>;
  }

  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    proxy: boolean;
    readonly issuer: string;
    readonly Client: { prototype: ProviderClient };
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    readonly Grant: {
      new (init: { accountId: string; clientId: string }): Grant;
      find(id: string): Promise<Grant | undefined>;
    };
    /** Interaction records by uid; undefined once finished or expired. */
    readonly Interaction: { find(uid: string): Promise<object | undefined> };
    on(event: string, listener: (...args: unknown[]) => void): this;
    use(middleware: (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>): this;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionResult(req: IncomingMessage, res: ServerResponse, result: InteractionResult): Promise<string>;
  }
}
