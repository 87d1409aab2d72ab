import { createHash, hash } from 'node:crypto';

/**
 * Rendezvous (highest-random-weight) hashing: every member gets a score for the key and the
 * `replication` highest scores hold it. Any two nodes with the same member view pick the same replicas
 * without coordination, and a member joining or leaving moves only the keys it wins or held.
 *
 * Score: the key is hashed once (SHA-256, first 64 bits) and combined with each member's cached 64-bit
 * hash through a 32-bit finalising mixer (MurmurHash3 fmix32), so a placement costs one SHA-256
 * whatever the member count. Scores compare as (high, low) words, ties by member id.
 */
export function replicasFor(key: string, members: readonly string[], replication: number): string[] {
  const count = Math.max(1, Math.min(replication, members.length));
  // A node alone (no peers yet) holds every key: nothing to rank.
  if (members.length === 1) return [...members];
  const digest = hash('sha256', key, 'buffer');
  const k0 = digest.readUInt32BE(0);
  const k1 = digest.readUInt32BE(4);
  const scored = members.map((member) => {
    const [m0, m1] = memberHash(member);
    const hi = fmix32((k0 ^ m0) + Math.imul(fmix32(k1 ^ m1), 0x9e3779b1));
    const lo = fmix32(k1 ^ m1 ^ hi);
    return { member, hi, lo };
  });
  scored.sort((a, b) =>
    a.hi !== b.hi
      ? b.hi - a.hi
      : a.lo !== b.lo
        ? b.lo - a.lo
        : a.member < b.member
          ? -1
          : a.member > b.member
            ? 1
            : 0,
  );
  return scored.slice(0, count).map((s) => s.member);
}

/** Acknowledgements a write needs on a replica set of `replicas` members. */
export function majority(replicas: number): number {
  return Math.floor(replicas / 2) + 1;
}

const memberHashes = new Map<string, readonly [number, number]>();
/** Member ids are peer ids of the cluster; the cache is cleared if it ever grows past this. */
const MAX_CACHED_MEMBERS = 4096;

function memberHash(member: string): readonly [number, number] {
  let hash = memberHashes.get(member);
  if (hash === undefined) {
    const digest = createHash('sha256').update('persona-rendezvous\0').update(member, 'utf8').digest();
    hash = [digest.readUInt32BE(0), digest.readUInt32BE(4)];
    if (memberHashes.size >= MAX_CACHED_MEMBERS) memberHashes.clear();
    memberHashes.set(member, hash);
  }
  return hash;
}

/** MurmurHash3's 32-bit finaliser: every input bit affects every output bit. */
function fmix32(input: number): number {
  let h = input >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
