import { CREDENTIALS_V1_CONTEXT, CREDENTIALS_V2_CONTEXT } from '../contexts/index.js';
import {
  contradictsKnownRevisions,
  type Digest,
  parseDigestMultibase,
  parseDigestSri,
} from '../contexts/related-resources.js';
import { asArray, isAbsoluteUrl, isDateTime, isDateTimeStamp, isObject, type JsonObject } from './values.js';

/** One violated rule of the data model, with the JSON path of the offending value. */
export interface Violation {
  path: string;
  message: string;
}

export type DataModelVersion = 1 | 2;

/** The VC Data Model version a document claims by its first context, if it is one of the two. */
export function dataModelVersion(document: JsonObject): DataModelVersion | undefined {
  const context = document['@context'];
  const first = Array.isArray(context) ? context[0] : undefined;
  if (first === CREDENTIALS_V2_CONTEXT) return 2;
  if (first === CREDENTIALS_V1_CONTEXT) return 1;
  return undefined;
}

/**
 * The structural MUSTs of VC Data Model 2.0 (and 1.1 for a credential whose first context is v1) that can be
 * checked without JSON-LD processing or a clock: contexts, ids, types, issuer, subjects, dates and their
 * order, and the typed objects (status, schema, evidence, …). Time-dependent validity (`validFrom`,
 * `validUntil`, `expirationDate` against now) is the verifier's separate check.
 */
export function validateCredential(credential: unknown, path = ''): Violation[] {
  const violations: Violation[] = [];
  const report = (at: string, message: string) => violations.push({ path: `${path}${at}`, message });
  if (!isObject(credential)) {
    report('', 'A credential must be a JSON object.');
    return violations;
  }
  const version = checkContext(credential, report);
  checkOptionalUrl(credential, 'id', report);
  checkTypes(credential, 'VerifiableCredential', report);

  const { issuer } = credential;
  if (issuer === undefined || issuer === null) report('/issuer', '"issuer" is required.');
  else if (isObject(issuer)) {
    if (!isAbsoluteUrl(issuer.id)) report('/issuer/id', 'An issuer object must have an "id" that is a URL.');
    checkLanguageStrings(issuer, 'name', (at, message) => report(`/issuer${at}`, message));
    checkLanguageStrings(issuer, 'description', (at, message) => report(`/issuer${at}`, message));
  } else if (!isAbsoluteUrl(issuer))
    report('/issuer', '"issuer" must be a URL or an object with an "id" URL.');

  checkSubjects(credential.credentialSubject, report);
  checkLanguageStrings(credential, 'name', report);
  checkLanguageStrings(credential, 'description', report);

  if (version === 1) {
    if (credential.issuanceDate === undefined)
      report('/issuanceDate', '"issuanceDate" is required in VC 1.1.');
    else if (!isDateTime(credential.issuanceDate)) {
      report('/issuanceDate', '"issuanceDate" must be an XML Schema dateTime.');
    }
    if (credential.expirationDate !== undefined && !isDateTime(credential.expirationDate)) {
      report('/expirationDate', '"expirationDate" must be an XML Schema dateTime.');
    }
  }
  const { validFrom, validUntil } = credential;
  if (validFrom !== undefined && !isDateTimeStamp(validFrom)) {
    report('/validFrom', '"validFrom" must be an XML Schema dateTimeStamp (with a time zone).');
  }
  if (validUntil !== undefined && !isDateTimeStamp(validUntil)) {
    report('/validUntil', '"validUntil" must be an XML Schema dateTimeStamp (with a time zone).');
  }
  if (
    isDateTimeStamp(validFrom) &&
    isDateTimeStamp(validUntil) &&
    Date.parse(validFrom) > Date.parse(validUntil)
  ) {
    report('/validUntil', '"validUntil" must not be before "validFrom".');
  }

  for (const property of [
    'credentialStatus',
    'refreshService',
    'termsOfUse',
    'evidence',
    'credentialSchema',
  ]) {
    checkTypedObjects(credential, property, report);
  }
  asArray(credential.credentialSchema).forEach((schema, i) => {
    if (isObject(schema) && !isAbsoluteUrl(schema.id)) {
      report(
        `/credentialSchema${indexPath(credential.credentialSchema, i)}/id`,
        'A credential schema needs an "id" URL.',
      );
    }
  });
  checkRelatedResources(credential, report);
  return violations;
}

/** The structural MUSTs of a verifiable presentation; embedded credentials are checked on their own. */
export function validatePresentation(presentation: unknown): Violation[] {
  const violations: Violation[] = [];
  const report = (path: string, message: string) => violations.push({ path, message });
  if (!isObject(presentation)) {
    report('', 'A presentation must be a JSON object.');
    return violations;
  }
  checkContext(presentation, report);
  checkOptionalUrl(presentation, 'id', report);
  checkTypes(presentation, 'VerifiablePresentation', report);
  const { holder } = presentation;
  if (holder !== undefined) {
    const id = isObject(holder) ? holder.id : holder;
    if (!isAbsoluteUrl(id)) report('/holder', '"holder" must be a URL or an object with an "id" URL.');
  }
  asArray(presentation.verifiableCredential).forEach((credential, i) => {
    const at = `/verifiableCredential${indexPath(presentation.verifiableCredential, i)}`;
    if (!isObject(credential)) report(at, 'Must be a credential object.');
    else if (isEnvelopedCredential(credential)) {
      for (const { path, message } of validateEnvelope(credential, 'credential'))
        report(`${at}${path}`, message);
    }
  });
  checkTypedObjects(presentation, 'termsOfUse', report);
  return violations;
}

const ENVELOPE_TYPES = {
  credential: 'EnvelopedVerifiableCredential',
  presentation: 'EnvelopedVerifiablePresentation',
} as const;

/**
 * The MUSTs of an enveloped credential or presentation object (VCDM 2.0 §4.13.1, §4.13.2): an `@context`
 * that includes the base context (which defines `id`, `type` and the envelope types), `type` exactly
 * `EnvelopedVerifiableCredential` / `EnvelopedVerifiablePresentation`, and an `id` that is a `data:` URL
 * (RFC 2397) holding the secured document. The enveloped document itself is the securing mechanism's to check.
 */
export function validateEnvelope(envelope: unknown, kind: 'credential' | 'presentation'): Violation[] {
  const violations: Violation[] = [];
  const expectedType = ENVELOPE_TYPES[kind];
  if (!isObject(envelope)) return [{ path: '', message: `An ${expectedType} must be a JSON object.` }];
  const contexts = asArray(envelope['@context']);
  if (!contexts.includes(CREDENTIALS_V2_CONTEXT)) {
    violations.push({ path: '/@context', message: `"@context" must include "${CREDENTIALS_V2_CONTEXT}".` });
  }
  const types = asArray(envelope.type);
  if (types.length !== 1 || types[0] !== expectedType) {
    violations.push({ path: '/type', message: `"type" must be "${expectedType}".` });
  }
  if (typeof envelope.id !== 'string' || !/^data:[^,]*,./.test(envelope.id)) {
    violations.push({ path: '/id', message: '"id" must be a data: URL holding the secured document.' });
  }
  return violations;
}

/** Whether a value claims to be an enveloped credential (its type names the envelope). */
export function isEnvelopedCredential(value: unknown): boolean {
  return isObject(value) && asArray(value.type).includes(ENVELOPE_TYPES.credential);
}

type Report = (path: string, message: string) => void;

function indexPath(value: unknown, i: number): string {
  return Array.isArray(value) ? `/${i}` : '';
}

function checkContext(document: JsonObject, report: Report): DataModelVersion | undefined {
  const context = document['@context'];
  if (!Array.isArray(context) || context.length === 0) {
    report('/@context', '"@context" must be an array whose first item is a credentials context URL.');
    return undefined;
  }
  const version = dataModelVersion(document);
  if (version === undefined) {
    report(
      '/@context/0',
      `The first "@context" item must be "${CREDENTIALS_V2_CONTEXT}" (or "${CREDENTIALS_V1_CONTEXT}" for VC 1.1).`,
    );
  }
  context.forEach((item, i) => {
    if (!(isAbsoluteUrl(item) || isObject(item))) {
      report(`/@context/${i}`, 'Each "@context" item must be a URL or a context object.');
    }
  });
  return version;
}

function checkOptionalUrl(document: JsonObject, property: string, report: Report): void {
  if (property in document && !isAbsoluteUrl(document[property])) {
    report(`/${property}`, `"${property}" must be a single URL.`);
  }
}

function checkTypes(document: JsonObject, required: string, report: Report): void {
  const { type } = document;
  if (!Array.isArray(type) || type.some((t) => typeof t !== 'string' || t.length === 0)) {
    report('/type', `"type" must be an array of type names including "${required}".`);
  } else if (!type.includes(required)) {
    report('/type', `"type" must include "${required}".`);
  }
}

function checkSubjects(subjects: unknown, report: Report): void {
  if (subjects === undefined || subjects === null || (Array.isArray(subjects) && subjects.length === 0)) {
    report('/credentialSubject', '"credentialSubject" is required.');
    return;
  }
  asArray(subjects).forEach((subject, i) => {
    const at = `/credentialSubject${indexPath(subjects, i)}`;
    if (!isObject(subject)) report(at, 'A credential subject must be an object.');
    else if (Object.keys(subject).length === 0)
      report(at, 'A credential subject must make at least one claim.');
    else if ('id' in subject && !isAbsoluteUrl(subject.id))
      report(`${at}/id`, 'A subject "id" must be a URL.');
  });
}

/** The members a language value object may have (VCDM 2.0 §11.1 Language and Base Direction). */
const LANGUAGE_VALUE_KEYS = new Set(['@value', '@language', '@direction']);

/** `name`/`description`: a string, a language value object, or an array of them. */
function checkLanguageStrings(document: JsonObject, property: string, report: Report): void {
  if (!(property in document)) return;
  const ok = (value: unknown) =>
    typeof value === 'string' ||
    (isObject(value) &&
      Object.keys(value).every((key) => LANGUAGE_VALUE_KEYS.has(key)) &&
      typeof value['@value'] === 'string' &&
      (value['@language'] === undefined || typeof value['@language'] === 'string') &&
      (value['@direction'] === undefined || value['@direction'] === 'ltr' || value['@direction'] === 'rtl'));
  const value = document[property];
  if (!(Array.isArray(value) ? value.length > 0 && value.every(ok) : ok(value))) {
    report(
      `/${property}`,
      `"${property}" must be a string or a language value object (only "@value", "@language", "@direction").`,
    );
  }
}

/** Properties whose values MUST be objects with a `type` (and, where they have one, an `id` URL). */
function checkTypedObjects(document: JsonObject, property: string, report: Report): void {
  if (!(property in document)) return;
  const value = document[property];
  const entries = asArray(value);
  if (entries.length === 0) report(`/${property}`, `"${property}" must not be empty.`);
  entries.forEach((entry, i) => {
    const at = `/${property}${indexPath(value, i)}`;
    if (!isObject(entry)) {
      report(at, `Each "${property}" value must be an object.`);
      return;
    }
    const { type } = entry;
    const typeOk =
      (typeof type === 'string' && type.length > 0) ||
      (Array.isArray(type) && type.length > 0 && type.every((t) => typeof t === 'string' && t.length > 0));
    if (!typeOk) report(`${at}/type`, `Each "${property}" value must have a "type".`);
    if ('id' in entry && !isAbsoluteUrl(entry.id)) report(`${at}/id`, `A "${property}" "id" must be a URL.`);
  });
}

/**
 * `relatedResource`: objects with a unique `id` URL and at least one well-formed digest, which must match the
 * resource when this package knows its revisions (`RELATED_RESOURCE_REVISIONS`).
 */
function checkRelatedResources(document: JsonObject, report: Report): void {
  if (!('relatedResource' in document)) return;
  const value = document.relatedResource;
  const seen = new Set<string>();
  const entries = asArray(value);
  if (entries.length === 0) report('/relatedResource', '"relatedResource" must not be empty.');
  entries.forEach((entry, i) => {
    const at = `/relatedResource${indexPath(value, i)}`;
    if (!isObject(entry)) {
      report(at, 'Each "relatedResource" value must be an object.');
      return;
    }
    if (!isAbsoluteUrl(entry.id)) report(`${at}/id`, 'A related resource needs an "id" URL.');
    else if (seen.has(entry.id)) report(`${at}/id`, `Related resource "${entry.id}" is listed twice.`);
    else seen.add(entry.id);
    const { digestSRI, digestMultibase } = entry;
    if (digestSRI === undefined && digestMultibase === undefined) {
      report(at, 'A related resource needs "digestSRI" or "digestMultibase".');
    }
    const digests: [string, unknown, (value: unknown) => Digest | undefined, string][] = [
      ['digestSRI', digestSRI, parseDigestSri, 'a Subresource Integrity string (sha256/384/512, base64)'],
      ['digestMultibase', digestMultibase, parseDigestMultibase, 'a base64url multibase SHA-2 digest'],
    ];
    for (const [property, declared, parse, form] of digests) {
      if (declared === undefined) continue;
      const digest = parse(declared);
      if (digest === undefined) report(`${at}/${property}`, `"${property}" must be ${form}.`);
      else if (isAbsoluteUrl(entry.id) && contradictsKnownRevisions(entry.id, digest)) {
        report(`${at}/${property}`, `"${property}" does not match the digest of "${entry.id}".`);
      }
    }
  });
}
