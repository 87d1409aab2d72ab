import { CredentialError } from '../errors.js';
import type { JsonObject } from './compact.js';

export const VC_V2_CONTEXT = 'https://www.w3.org/ns/credentials/v2';

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function types(value: unknown): string[] | undefined {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.length > 0 && value.every((entry) => typeof entry === 'string')) {
    return value as string[];
  }
  return undefined;
}

/** `issuer` / `holder` as a URL string, or the `id` of its object form. */
export function partyId(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.id === 'string') return value.id;
  return undefined;
}

function isUrl(value: string): boolean {
  return URL.canParse(value);
}

/**
 * The structure VCDM 2.0 requires of the secured document, checked on the JSON (no JSON-LD
 * processing: verification stays cheap). `code` is the error code for a violation.
 */
function checkBase(document: JsonObject, kind: 'credential' | 'presentation', code: string): string[] {
  const context = document['@context'];
  if (!Array.isArray(context) || context[0] !== VC_V2_CONTEXT) {
    throw new CredentialError(code, `the ${kind}'s @context must be an array starting with ${VC_V2_CONTEXT}`);
  }
  // VC-JOSE-COSE §1.1.2.1: these JWT claim names must never appear in a VC or VP claims set.
  if ('vc' in document || 'vp' in document) {
    throw new CredentialError(code, 'the JWT claims set must not contain vc or vp claims');
  }
  const typeList = types(document.type);
  if (typeList === undefined)
    throw new CredentialError(code, `the ${kind}'s type must be a string or strings`);
  if (document.id !== undefined && (typeof document.id !== 'string' || !isUrl(document.id))) {
    throw new CredentialError(code, `the ${kind}'s id must be a URL`);
  }
  return typeList;
}

/** Checks a VCDM 2.0 credential and returns its issuer's id. */
export function checkCredential(document: JsonObject, code = 'invalid-credential'): string {
  if (!checkBase(document, 'credential', code).includes('VerifiableCredential')) {
    throw new CredentialError(code, 'the credential type must include VerifiableCredential');
  }
  const issuer = partyId(document.issuer);
  if (issuer === undefined || !isUrl(issuer)) {
    throw new CredentialError(code, 'the credential issuer must be a URL or an object with a URL id');
  }
  const subject = document.credentialSubject;
  const subjects = Array.isArray(subject) ? subject : [subject];
  if (subjects.length === 0 || !subjects.every((entry) => isObject(entry) && Object.keys(entry).length > 0)) {
    throw new CredentialError(code, 'credentialSubject must be a non-empty object or array of objects');
  }
  return issuer;
}

/** Checks a VCDM 2.0 presentation and returns its holder's id, if it names one. */
export function checkPresentation(document: JsonObject, code = 'invalid-presentation'): string | undefined {
  if (!checkBase(document, 'presentation', code).includes('VerifiablePresentation')) {
    throw new CredentialError(code, 'the presentation type must include VerifiablePresentation');
  }
  if (document.holder === undefined) return undefined;
  const holder = partyId(document.holder);
  if (holder === undefined || !isUrl(holder)) {
    throw new CredentialError(code, 'the presentation holder must be a URL or an object with a URL id');
  }
  return holder;
}
