/**
 * Compares two byte strings in time that depends only on their lengths, never on where they differ.
 * Use it for every comparison of secrets, MACs and tokens.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}
