import {
  type CryptosuiteName,
  createKeyStoreBbsSigner,
  createKeyStoreSigner,
  type DocumentLoader,
  type IssueCredentialOptions,
  issueCredential,
} from '@personachain/credentials';
import type { KeyStore } from '@personachain/crypto';

/** A Data Integrity issuance with a KeyStore-held key, as the main thread or a credential thread runs it. */
export interface KeyStoreIssuance {
  credential: Record<string, unknown>;
  suite: CryptosuiteName;
  keyId: string;
  verificationMethod: string;
  options: IssueCredentialOptions;
}

/** Secures the credential: bbs-2023 signs several messages with its BLS key, the other suites one. */
export async function issueWithKeyStore(
  issuance: KeyStoreIssuance,
  keyStore: Pick<KeyStore, 'getKey' | 'sign' | 'signMessages'>,
  documentLoader: DocumentLoader,
): Promise<Record<string, unknown>> {
  const { credential, suite, keyId, verificationMethod, options } = issuance;
  const signerInput = { keyStore, keyId, verificationMethod };
  return issueCredential({
    credential,
    suite,
    signer:
      suite === 'bbs-2023'
        ? await createKeyStoreBbsSigner(signerInput)
        : await createKeyStoreSigner(signerInput),
    documentLoader,
    options,
  });
}
