import { v7 as uuidv7 } from 'uuid';

/** Prefixes of our resource ids; the rest is a UUIDv7 in hex, so ids sort by creation time. */
export type IdPrefix =
  | 'org'
  | 'prj'
  | 'key'
  | 'mem'
  | 'aud'
  | 'iss'
  | 'usr'
  | 'ses'
  | 'grp'
  | 'pky'
  | 'emc'
  | 'sgn'
  | 'vrf'
  | 'vdc'
  | 'vat'
  | 'vpc'
  | 'whe'
  | 'evt'
  | 'msg'
  | 'con'
  | 'cof'
  // Vaults: vault, member device, access-log entry, member session, recovery setup, recovery request,
  // guardian access approval.
  | 'vlt'
  | 'vdv'
  | 'vac'
  | 'vss'
  | 'vrs'
  | 'vrr'
  | 'vap';

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${uuidv7().replace(/-/g, '')}`;
}

const ID_PATTERN =
  /^(org|prj|key|mem|aud|iss|usr|ses|grp|pky|emc|sgn|vrf|vdc|vat|vpc|whe|evt|msg|con|cof|vlt|vdv|vac|vss|vrs|vrr|vap)_[0-9a-f]{32}$/;

export function isId(prefix: IdPrefix, value: string): boolean {
  return ID_PATTERN.test(value) && value.startsWith(`${prefix}_`);
}
