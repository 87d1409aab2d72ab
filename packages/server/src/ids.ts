import { randomFillSync } from 'node:crypto';
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

/**
 * Random bytes for ids, drawn from the system in blocks as node's randomUUID does: one draw per id (uuid's
 * own source) cost ~10 µs of node's webcrypto checks and a native job, for 16 bytes.
 */
const ID_RANDOM_BLOCK = 16 * 256;
let idRandom = new Uint8Array(0);
let idRandomAt = 0;

/** UUIDv7's clock (RFC 9562 §6.2, method 1): ids made in the same millisecond count up from a random start. */
const idClock = { msecs: Number.NEGATIVE_INFINITY, seq: 0 };

export function newId(prefix: IdPrefix): string {
  if (idRandomAt === idRandom.length) {
    idRandom = randomFillSync(new Uint8Array(ID_RANDOM_BLOCK));
    idRandomAt = 0;
  }
  const random = idRandom.subarray(idRandomAt, idRandomAt + 16);
  idRandomAt += 16;
  const now = Date.now();
  if (now > idClock.msecs) {
    idClock.msecs = now;
    // uuid's own seeding: 31 random bits, so the counter cannot overflow within the millisecond.
    idClock.seq =
      ((random[6] as number) & 0x7f) * 2 ** 24 +
      ((random[7] as number) << 16) +
      ((random[8] as number) << 8) +
      (random[9] as number);
  } else {
    idClock.seq = (idClock.seq + 1) | 0;
    if (idClock.seq === 0) idClock.msecs++;
  }
  const bytes = uuidv7({ random, msecs: idClock.msecs, seq: idClock.seq }, new Uint8Array(16));
  return `${prefix}_${Buffer.from(bytes.buffer, bytes.byteOffset, 16).toString('hex')}`;
}

const ID_PATTERN =
  /^(org|prj|key|mem|aud|iss|usr|ses|grp|pky|emc|sgn|vrf|vdc|vat|vpc|whe|evt|msg|con|cof|vlt|vdv|vac|vss|vrs|vrr|vap)_[0-9a-f]{32}$/;

export function isId(prefix: IdPrefix, value: string): boolean {
  return ID_PATTERN.test(value) && value.startsWith(`${prefix}_`);
}
