import type { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { CredentialError } from '../errors.js';

export type DisclosureFrame = NonNullable<Parameters<SDJwtVcInstance['issue']>[1]>;
export type PresentationFrame = NonNullable<Parameters<SDJwtVcInstance['present']>[1]>;

/** A path to a claim: object keys and array indexes, e.g. `['address', 'street']`, `['nationalities', 0]`. */
export type ClaimPath = readonly (string | number)[];

type Frame = Record<string | number, unknown>;

// SD-JWT VC §3.2.2.2 (and the SD-JWT internals): these are never selectively disclosable.
const nonDisclosable = new Set([
  'iss',
  'nbf',
  'exp',
  'cnf',
  'vct',
  'vct#integrity',
  'status',
  '_sd',
  '_sd_alg',
  '...',
]);

function checkPath(path: ClaimPath, claims: unknown): void {
  if (path.length === 0) throw new CredentialError('invalid-argument', 'a claim path cannot be empty');
  let node: unknown = claims;
  for (const key of path) {
    const isIndex = typeof key === 'number';
    if (
      isIndex
        ? !Array.isArray(node) || !Number.isInteger(key) || key < 0
        : typeof node !== 'object' || node === null || Array.isArray(node)
    ) {
      throw new CredentialError(
        'invalid-argument',
        `claim path ${JSON.stringify(path)} does not match the claims`,
      );
    }
    if (!Object.hasOwn(node as object, key)) {
      throw new CredentialError('invalid-argument', `claim path ${JSON.stringify(path)} names no claim`);
    }
    node = (node as Frame)[key];
  }
  if (path.length === 1 && nonDisclosable.has(String(path[0]))) {
    throw new CredentialError('invalid-argument', `${String(path[0])} cannot be selectively disclosable`);
  }
}

function parentFrame(root: Frame, path: ClaimPath): Frame {
  let node = root;
  for (const key of path.slice(0, -1)) {
    // A path disclosed as a whole (`true`) becomes an object once a nested path is selected too.
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Frame;
  }
  return node;
}

/** The library's disclosure frame (`_sd` lists per object or array) for claim paths. */
export function disclosureFrame(
  claims: Record<string, unknown>,
  paths: readonly ClaimPath[],
): DisclosureFrame {
  const root: Frame = {};
  for (const path of paths) {
    checkPath(path, claims);
    const parent = parentFrame(root, path);
    parent._sd ??= [];
    (parent._sd as (string | number)[]).push(path[path.length - 1] as string | number);
  }
  return root as DisclosureFrame;
}

/** The library's presentation frame (`true` at every disclosed path) for claim paths. */
export function presentationFrame(paths: readonly ClaimPath[]): PresentationFrame {
  const root: Frame = {};
  for (const path of paths) {
    if (path.length === 0) throw new CredentialError('invalid-argument', 'a claim path cannot be empty');
    const parent = parentFrame(root, path);
    const last = path[path.length - 1] as string | number;
    // A claim already selected through a nested path stays an object: that discloses it as well.
    if (parent[last] === undefined) parent[last] = true;
  }
  return root as PresentationFrame;
}
