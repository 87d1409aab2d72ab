import {
  CREDENTIALS_V2_CONTEXT,
  createKeyStoreSigner,
  type DocumentLoader,
  deriveCredential,
  issueVpCose,
  issueVpJwt,
  issueVpSdJwt,
  type JwsSigner,
  keyStoreJwsSigner,
  signPresentation,
  VP_JWT_DATA_URL,
  VP_SD_JWT_DATA_URL,
  vpCoseDataUrl,
} from '@personachain/credentials';
import type { KeyStore } from '@personachain/crypto';
import { Problem } from '../../http/problem.js';
import type { AuditService } from '../audit/service.js';
import { type IssuerKey, type IssuerRecord, type IssuersService, keyForSuite } from '../issuers/service.js';
import type { Principal } from '../policy/model.js';
import type { TenancyService } from '../tenancy/service.js';
import type { JsonObject } from './json.js';
import { badOption, rejected } from './rejection.js';
import { type PRESENTATION_FORMATS, PRESENTATION_SUITES } from './schemas.js';

export type PresentationSuite = (typeof PRESENTATION_SUITES)[number];
/** The VC-JOSE-COSE media types a holder secures presentations with (`options.format`). */
export type PresentationFormat = (typeof PRESENTATION_FORMATS)[number];
type EnvelopingSuite = 'vp+jwt' | 'vp+sd-jwt' | 'vp+cose';
const FORMAT_SUITES: Record<PresentationFormat, EnvelopingSuite> = {
  'application/vp+jwt': 'vp+jwt',
  'application/vp+sd-jwt': 'vp+sd-jwt',
  'application/vp+cose': 'vp+cose',
};

/** The signHeldPresentation suite of an `options.format`: project holders and users' custodial DIDs alike. */
export function formatSuite(format: PresentationFormat): EnvelopingSuite {
  return FORMAT_SUITES[format];
}

export interface DeriveOptions {
  selectivePointers?: string[] | undefined;
}

export interface ProveOptions {
  holder: string;
  challenge: string;
  domain?: string | undefined;
  cryptosuite?: PresentationSuite | undefined;
  format?: PresentationFormat | undefined;
  created?: string | undefined;
}

/** How a presentation is signed: a Data Integrity suite, or VC-JOSE-COSE; with which of the holder's keys. */
export type Securing = { suite: PresentationSuite | EnvelopingSuite; key: IssuerKey };

/**
 * The VC-API holder side: deriving selective disclosures from base-proof credentials, and signing
 * presentations as one of the project's issuer DIDs (its KeyStore key, proofPurpose `authentication`).
 * Neither stores nor logs what it is given: credentials and presentations carry the subjects' data.
 */
export class HolderService {
  constructor(
    private readonly issuers: IssuersService,
    private readonly tenancy: TenancyService,
    private readonly keys: KeyStore,
    private readonly documentLoader: DocumentLoader,
    private readonly audit: AuditService,
  ) {}

  async derive(
    principal: Principal,
    projectId: string,
    input: { verifiableCredential: object; options?: DeriveOptions | undefined },
  ): Promise<{ verifiableCredential: JsonObject }> {
    await this.tenancy.authorizeProject(principal, projectId, 'credentials:derive');
    const selectivePointers = input.options?.selectivePointers ?? [];
    try {
      const verifiableCredential = await deriveCredential({
        credential: input.verifiableCredential,
        selectivePointers,
        documentLoader: this.documentLoader,
      });
      return { verifiableCredential };
    } catch (error) {
      throw rejected(error, 'credential-rejected', '#/verifiableCredential', selectivePointers);
    }
  }

  async prove(
    principal: Principal,
    projectId: string,
    input: { presentation: object; options: ProveOptions },
  ): Promise<{ verifiablePresentation: JsonObject }> {
    const { options } = input;
    const project = await this.tenancy.authorizeProject(principal, projectId, 'presentations:prove');
    const holder = await this.issuers.authorizeIssuer(principal, options.holder, 'presentations:prove');
    if (holder.projectId !== project.id) {
      throw new Problem('not-found', `No issuer ${options.holder} in project ${project.id}.`);
    }
    const { suite, key } = chooseSecuring(holder, options);
    const presentation = withHolder(input.presentation as JsonObject, holder.did);
    let verifiablePresentation: JsonObject;
    try {
      verifiablePresentation = await signHeldPresentation(
        this.keys,
        this.documentLoader,
        presentation,
        { suite, key },
        options,
      );
    } catch (error) {
      throw rejected(error, 'validation-error', '#/presentation');
    }
    // A project key signed: recorded like an issuance, with what was signed for but never its contents.
    await this.audit.recordAlone({
      type: 'presentation.signed',
      orgId: holder.orgId,
      projectId: holder.projectId,
      actor: principal.keyId,
      subject: holder.id,
      details: {
        suite,
        credentials: credentialCount(presentation.verifiableCredential),
        ...(options.domain === undefined ? {} : { domain: options.domain }),
      },
    });
    return { verifiablePresentation };
  }
}

/**
 * Signs a presentation (its `holder` already set) with a KeyStore key: a Data Integrity proof with
 * proofPurpose `authentication`, or a vp+jwt, vp+sd-jwt or vp+cose (challenge as `nonce`, domain as `aud`) as
 * an EnvelopedVerifiablePresentation. Shared by project DIDs (HolderService) and users' custodial DIDs.
 */
export async function signHeldPresentation(
  keys: KeyStore,
  documentLoader: DocumentLoader,
  presentation: JsonObject,
  { suite, key }: Securing,
  options: Omit<ProveOptions, 'holder' | 'cryptosuite' | 'format'>,
): Promise<JsonObject> {
  if (suite === 'vp+jwt' || suite === 'vp+sd-jwt' || suite === 'vp+cose') {
    const signer = await keyStoreJwsSigner(keys, key.keyId, key.verificationMethod);
    return {
      '@context': CREDENTIALS_V2_CONTEXT,
      type: 'EnvelopedVerifiablePresentation',
      id: await envelopedPresentationId(suite, presentation, signer, options),
    };
  }
  return signPresentation({
    presentation,
    suite,
    signer: await createKeyStoreSigner({
      keyStore: keys,
      keyId: key.keyId,
      verificationMethod: key.verificationMethod,
    }),
    challenge: options.challenge,
    ...(options.domain === undefined ? {} : { domain: options.domain }),
    documentLoader,
    options: options.created === undefined ? {} : { created: options.created },
  });
}

/** The secured presentation as a data: URL: the challenge as its `nonce`, the domain as its `aud`. */
async function envelopedPresentationId(
  suite: EnvelopingSuite,
  presentation: JsonObject,
  signer: JwsSigner,
  options: Omit<ProveOptions, 'holder' | 'cryptosuite' | 'format'>,
): Promise<string> {
  const input = {
    presentation,
    signer,
    nonce: options.challenge,
    ...(options.domain === undefined ? {} : { audience: options.domain }),
  };
  switch (suite) {
    case 'vp+jwt':
      return `${VP_JWT_DATA_URL}${await issueVpJwt(input)}`;
    case 'vp+sd-jwt':
      return `${VP_SD_JWT_DATA_URL}${await issueVpSdJwt(input)}`;
    case 'vp+cose':
      return vpCoseDataUrl(await issueVpCose(input));
  }
}

/**
 * The securing asked for, which the holder must have (a Data Integrity suite among its suites; a VC-JOSE-COSE
 * format with any key that signs JWS), or the holder's first suite that signs presentations.
 */
function chooseSecuring(holder: IssuerRecord, options: ProveOptions): Securing {
  if (options.cryptosuite !== undefined && options.format !== undefined) {
    throw badOption('#/options/format', 'cannot be combined with options.cryptosuite');
  }
  if (options.format !== undefined) {
    const key = keyForSuite(holder.keys, 'vc+jwt');
    if (!key)
      throw badOption('#/options/format', 'needs a holder with an Ed25519, P-256, P-384 or P-521 key');
    return { suite: formatSuite(options.format), key };
  }
  if (options.cryptosuite !== undefined && !holder.suites.includes(options.cryptosuite)) {
    throw badOption(
      '#/options/cryptosuite',
      `is not one of the holder's suites (${holder.suites.join(', ')})`,
    );
  }
  const suite = options.cryptosuite ?? holder.suites.find(signsPresentations);
  // Every suite of an issuer has a key: checked when the issuer was created.
  if (suite === 'vc+jwt') return { suite: 'vp+jwt', key: keyForSuite(holder.keys, suite) as IssuerKey };
  if (suite !== undefined && signsPresentations(suite)) {
    return { suite, key: keyForSuite(holder.keys, suite) as IssuerKey };
  }
  throw badOption('#/options/holder', 'has no suite that signs presentations');
}

function signsPresentations(suite: string): suite is PresentationSuite | 'vc+jwt' {
  return suite === 'vc+jwt' || (PRESENTATION_SUITES as readonly string[]).includes(suite);
}

/** The presentation with `holder` set to the holder's DID; a different holder is refused. */
export function withHolder(presentation: JsonObject, did: string): JsonObject {
  const { holder } = presentation;
  if (holder === undefined) return { ...presentation, holder: did };
  const named =
    typeof holder === 'object' && holder !== null && !Array.isArray(holder)
      ? (holder as JsonObject).id
      : holder;
  if (named !== did) {
    const pointer = typeof holder === 'string' ? '#/presentation/holder' : '#/presentation/holder/id';
    throw new Problem('validation-error', `The presentation's holder is not the signing DID (${did}).`, {
      errors: [{ in: 'body', pointer, detail: `must be ${did}` }],
      extensions: { code: 'holder-mismatch' },
    });
  }
  return presentation;
}

function credentialCount(verifiableCredential: unknown): number {
  if (verifiableCredential === undefined) return 0;
  return Array.isArray(verifiableCredential) ? verifiableCredential.length : 1;
}
