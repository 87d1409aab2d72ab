import { beforeAll, describe, expect, it } from 'vitest';
import {
  CredentialError,
  createPresentation,
  issueCredential,
  signPresentation,
  verifyPresentation,
} from '../src/index.js';
import {
  documentLoader,
  newIssuer,
  type TestIssuer,
  v1Credential,
  v2Credential,
} from './data-integrity-helpers.js';

const CHALLENGE = 'u3q2v1b7d9XoT4rP8wZkA';
const DOMAIN = 'verifier.example';

let issuer: TestIssuer;
let holder: TestIssuer;
let credentials: Record<string, unknown>[];
beforeAll(async () => {
  issuer = await newIssuer('P-256');
  holder = await newIssuer('Ed25519');
  credentials = [
    await issueCredential({
      credential: v2Credential(issuer.did),
      suite: 'ecdsa-rdfc-2019',
      signer: issuer.signer,
      documentLoader,
    }),
    await issueCredential({
      credential: v1Credential(issuer.did),
      suite: 'ecdsa-rdfc-2019',
      signer: issuer.signer,
      documentLoader,
    }),
  ];
});

async function signedPresentation(
  verifiableCredential: Record<string, unknown>[],
  suite: 'eddsa-rdfc-2022' | 'eddsa-jcs-2022' = 'eddsa-rdfc-2022',
) {
  return signPresentation({
    presentation: createPresentation({ verifiableCredential, holder: holder.did }),
    suite,
    signer: holder.signer,
    challenge: CHALLENGE,
    domain: DOMAIN,
    documentLoader,
  });
}

describe('presentations', () => {
  it.each(['eddsa-rdfc-2022', 'eddsa-jcs-2022'] as const)(
    'signs with %s and verifies the proof and every credential',
    async (suite) => {
      const presentation = await signedPresentation(credentials, suite);
      expect(presentation.proof).toMatchObject({
        proofPurpose: 'authentication',
        challenge: CHALLENGE,
        domain: DOMAIN,
        cryptosuite: suite,
      });
      const result = await verifyPresentation({
        presentation,
        challenge: CHALLENGE,
        domain: DOMAIN,
        documentLoader,
      });
      expect(result.errors).toEqual([]);
      expect(result.verified).toBe(true);
      expect(result.credentialResults.map((r) => r.verified)).toEqual([true, true]);
    },
  );

  it('fails on another challenge or domain', async () => {
    const presentation = await signedPresentation(credentials);
    const wrongChallenge = await verifyPresentation({
      presentation,
      challenge: 'other',
      domain: DOMAIN,
      documentLoader,
    });
    expect(wrongChallenge.errors.map((e) => e.code)).toEqual(['challenge-mismatch']);
    const wrongDomain = await verifyPresentation({
      presentation,
      challenge: CHALLENGE,
      domain: 'evil.example',
      documentLoader,
    });
    expect(wrongDomain.errors.map((e) => e.code)).toEqual(['domain-mismatch']);
  });

  it('fails when an embedded credential was tampered with before the holder signed', async () => {
    const tampered = structuredClone(credentials[0] as Record<string, unknown>);
    (tampered.credentialSubject as Record<string, unknown>).alumniOf = 'Another School';
    const presentation = await signedPresentation([tampered]);
    const result = await verifyPresentation({
      presentation,
      challenge: CHALLENGE,
      domain: DOMAIN,
      documentLoader,
    });
    expect(result.verified).toBe(false);
    expect(result.errors.map((e) => e.code)).toEqual(['invalid-credential-in-presentation']);
    expect(result.credentialResults[0]?.errors.map((e) => e.code)).toEqual(['invalid-signature']);
  });

  it('fails when the presentation is changed after signing', async () => {
    const presentation = await signedPresentation(credentials);
    const changed = { ...presentation, verifiableCredential: [credentials[0]] };
    const result = await verifyPresentation({ presentation: changed, challenge: CHALLENGE, documentLoader });
    expect(result.errors.map((e) => e.code)).toEqual(['invalid-signature']);
  });

  it('requires a proof unless unsigned presentations are allowed', async () => {
    const unsigned = createPresentation({ verifiableCredential: credentials });
    expect(
      (await verifyPresentation({ presentation: unsigned, challenge: CHALLENGE, documentLoader })).errors.map(
        (e) => e.code,
      ),
    ).toEqual(['missing-proof']);
    const allowed = await verifyPresentation({
      presentation: unsigned,
      challenge: CHALLENGE,
      documentLoader,
      allowUnsigned: true,
    });
    expect(allowed.verified).toBe(true);
  });

  it('rejects a presentation proof made for another purpose', async () => {
    const presentation = await signedPresentation(credentials);
    const proof = presentation.proof as Record<string, unknown>;
    const result = await verifyPresentation({
      presentation: { ...presentation, proof: { ...proof, proofPurpose: 'assertionMethod' } },
      challenge: CHALLENGE,
      documentLoader,
    });
    expect(result.errors.map((e) => e.code)).toEqual(['invalid-proof']);
  });

  it('refuses to sign without a challenge or a malformed presentation', async () => {
    const presentation = createPresentation({ verifiableCredential: credentials });
    const noChallenge = await signPresentation({
      presentation,
      suite: 'eddsa-rdfc-2022',
      signer: holder.signer,
      challenge: '',
      documentLoader,
    }).catch((e: unknown) => e);
    expect(noChallenge).toBeInstanceOf(CredentialError);
    expect((noChallenge as CredentialError).code).toBe('invalid-argument');
    const malformed = await signPresentation({
      presentation: { ...presentation, type: ['VerifiableCredential'] },
      suite: 'eddsa-rdfc-2022',
      signer: holder.signer,
      challenge: CHALLENGE,
      documentLoader,
    }).catch((e: unknown) => e);
    expect((malformed as CredentialError).code).toBe('invalid-presentation');
  });
});
