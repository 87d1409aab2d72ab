import { LedgerError } from './errors.js';

const MAX_ENTRY = 0xffff;

/** C2SP tlog-tiles entry bundle: each entry prefixed by its length as a big-endian uint16. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const entry of entries) {
    if (entry.length > MAX_ENTRY) {
      throw new LedgerError(
        'invalid-argument',
        `entry of ${entry.length} bytes exceeds the ${MAX_ENTRY}-byte bundle limit`,
      );
    }
    total += 2 + entry.length;
  }
  const bundle = new Uint8Array(total);
  let at = 0;
  for (const entry of entries) {
    bundle[at] = entry.length >>> 8;
    bundle[at + 1] = entry.length & 0xff;
    bundle.set(entry, at + 2);
    at += 2 + entry.length;
  }
  return bundle;
}

/** Splits an entry bundle into its entries; throws LedgerError('malformed') on truncation. */
export function decodeEntryBundle(bundle: Uint8Array): Uint8Array[] {
  const entries: Uint8Array[] = [];
  let at = 0;
  while (at < bundle.length) {
    if (at + 2 > bundle.length)
      throw new LedgerError('malformed', 'entry bundle ends inside a length prefix');
    const length = ((bundle[at] as number) << 8) | (bundle[at + 1] as number);
    if (at + 2 + length > bundle.length)
      throw new LedgerError('malformed', 'entry bundle ends inside an entry');
    entries.push(bundle.slice(at + 2, at + 2 + length));
    at += 2 + length;
  }
  return entries;
}
