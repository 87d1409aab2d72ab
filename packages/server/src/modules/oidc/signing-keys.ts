import { createPublicKey, type KeyObject } from 'node:crypto';
import { exportJwk, type Jwk, type KeyRecord, type KeyStore } from '@personachain/crypto';
import { ExternalSigningKey } from 'oidc-provider';

/** The JWS algorithms an issuer signs with, and the KeyStore algorithm behind each. */
export const SIGNING_ALGORITHMS = { EdDSA: 'Ed25519', ES256: 'P-256' } as const;
export type JwsAlgorithm = keyof typeof SIGNING_ALGORITHMS;

/**
 * How long a retired key stays in the JWKS: longer than any token it signed can live (the provider's
 * longest access-token TTL is one hour), so rotation never breaks a token already issued.
 */
export const RETIRED_KEY_RETENTION_MS = 2 * 3_600_000;

const PURPOSE_PREFIX = 'oidc';

export function purposeOf(projectId: string, alg: JwsAlgorithm): string {
  return `${PURPOSE_PREFIX}:${projectId}:${alg}`;
}

/** A signing key as the provider and token verifiers see it: public half and algorithm, never the secret. */
export interface IssuerKey {
  kid: string;
  alg: JwsAlgorithm;
  active: boolean;
  publicJwk: Jwk;
  publicKey: KeyObject;
}

/**
 * A key the provider signs with through the platform KeyStore (oidc-provider's external-signing
 * support): the private key stays wrapped in the store and never enters the provider.
 */
class KeyStoreSigningKey extends ExternalSigningKey {
  constructor(
    private readonly keyStore: KeyStore,
    private readonly issuerKey: IssuerKey,
  ) {
    super();
    this.kid = issuerKey.kid;
    this.alg = issuerKey.alg;
  }

  override keyObject(): KeyObject {
    return this.issuerKey.publicKey;
  }

  override async sign(data: Uint8Array): Promise<Uint8Array> {
    return this.keyStore.sign(this.issuerKey.kid, data);
  }
}

/**
 * Each project's issuer keys (one active key per algorithm, plus recently retired ones) in the KeyStore,
 * under the purpose `oidc:{projectId}:{alg}`.
 */
export class IssuerKeys {
  constructor(
    private readonly keyStore: KeyStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** The project's published keys, active ones first; creates the active keys on first use. */
  async list(projectId: string): Promise<IssuerKey[]> {
    const keys: IssuerKey[] = [];
    for (const alg of Object.keys(SIGNING_ALGORITHMS) as JwsAlgorithm[]) {
      await this.ensureActive(projectId, alg);
      const records = await this.keyStore.listKeys({ purpose: purposeOf(projectId, alg) });
      for (const record of records) {
        if (this.published(record)) keys.push(toIssuerKey(record, alg));
      }
    }
    return keys.sort((a, b) => Number(b.active) - Number(a.active) || b.kid.localeCompare(a.kid));
  }

  /** The key `kid` if it is one of this project's published keys. */
  async find(projectId: string, kid: string): Promise<IssuerKey | undefined> {
    const record = await this.keyStore.getKey(kid).catch(() => undefined);
    if (!record || !this.published(record)) return undefined;
    const alg = (Object.keys(SIGNING_ALGORITHMS) as JwsAlgorithm[]).find(
      (candidate) => record.purpose === purposeOf(projectId, candidate),
    );
    return alg && toIssuerKey(record, alg);
  }

  /** New active keys for every algorithm; the previous ones retire but stay published (verification). */
  async rotate(projectId: string): Promise<IssuerKey[]> {
    const rotated: IssuerKey[] = [];
    for (const [alg, algorithm] of Object.entries(SIGNING_ALGORITHMS) as [JwsAlgorithm, string][]) {
      await this.ensureActive(projectId, alg);
      const record = await this.keyStore.rotateKey(
        purposeOf(projectId, alg),
        algorithm as KeyRecord['algorithm'],
      );
      rotated.push(toIssuerKey(record, alg));
    }
    return rotated;
  }

  /** The keys as the provider's `jwks` configuration: external signers backed by the KeyStore. */
  signers(keys: IssuerKey[]): ExternalSigningKey[] {
    return keys.map((key) => new KeyStoreSigningKey(this.keyStore, key));
  }

  private published(record: KeyRecord): boolean {
    if (record.status === 'active') return true;
    return record.retiredAt !== null && Date.parse(record.retiredAt) + RETIRED_KEY_RETENTION_MS > this.now();
  }

  private async ensureActive(projectId: string, alg: JwsAlgorithm): Promise<void> {
    const purpose = purposeOf(projectId, alg);
    if (await this.keyStore.activeKey(purpose)) return;
    // Another replica may create it at the same moment: the store then refuses the second key.
    await this.keyStore.createKey({ purpose, algorithm: SIGNING_ALGORITHMS[alg] }).catch(async (error) => {
      if (!(await this.keyStore.activeKey(purpose))) throw error;
    });
  }
}

function toIssuerKey(record: KeyRecord, alg: JwsAlgorithm): IssuerKey {
  const publicJwk: Jwk = {
    ...exportJwk(record.algorithm, record.publicKey),
    kid: record.id,
    alg,
    use: 'sig',
  };
  return {
    kid: record.id,
    alg,
    active: record.status === 'active',
    publicJwk,
    publicKey: createPublicKey({ key: publicJwk as import('node:crypto').JsonWebKey, format: 'jwk' }),
  };
}
