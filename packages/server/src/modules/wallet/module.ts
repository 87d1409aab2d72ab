import type { DocumentLoader } from '@personachain/credentials';
import type { KeyStore } from '@personachain/crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';
import type { AuditService } from '../audit/service.js';
import type { CredentialsService } from '../credentials/service.js';
import { SecretBox } from '../identity/secret-box.js';
import type { IdentityService } from '../identity/service.js';
import type { IssuersService } from '../issuers/service.js';
import { CredentialWallet } from './credential-wallet.js';
import { WalletRepo } from './repo.js';
import { UserDids } from './user-dids.js';

export interface WalletModuleOptions {
  db: Kysely<Database>;
  keys: KeyStore;
  masterKey: Uint8Array;
  credentials: CredentialsService;
  issuers: IssuersService;
  identity: IdentityService;
  documentLoader: DocumentLoader;
  audit: AuditService;
  /** The platform's public URL: its origin is the domain DID Auth presentations sign for. */
  publicUrl: string;
}

/**
 * End users' DIDs and credential wallets, wired to the identity provider: the OIDC `did` claim is the user's
 * primary DID; erasing a user removes their links, challenges and credentials and retires their custodial keys.
 */
export function createWalletModule(options: WalletModuleOptions): {
  dids: UserDids;
  wallet: CredentialWallet;
} {
  const repo = new WalletRepo(options.db);
  const now = options.identity.now;
  const dids = new UserDids({
    repo,
    credentials: options.credentials,
    identity: options.identity,
    keys: options.keys,
    documentLoader: options.documentLoader,
    audit: options.audit,
    domain: new URL(options.publicUrl).origin,
    now,
  });
  const wallet = new CredentialWallet({
    repo,
    credentials: options.credentials,
    issuers: options.issuers,
    identity: options.identity,
    dids,
    box: new SecretBox(options.masterKey, 'user wallet credential'),
    audit: options.audit,
    now,
  });
  options.identity.onUserErased(async (db, projectId, userId) => {
    const custodialKeys = await new WalletRepo(db).eraseUser(projectId, userId);
    // Once the erase committed (the KeyStore writes outside its transaction): nothing signs as the user again.
    return async () => {
      for (const keyId of custodialKeys) await options.keys.retireKey(keyId);
    };
  });
  options.identity.addClaimSource(async (projectId, userId) => {
    const [primary] = await dids.didsOf(projectId, userId);
    return primary === undefined ? {} : { did: primary };
  });
  return { dids, wallet };
}
