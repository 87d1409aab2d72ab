import type { Backend } from '../src/index.js';

export const backends: Backend[] = ['native', 'noble'];

export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  const bytes = new Uint8Array(clean.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/** A copy of `bytes` with one bit flipped at `index`. */
export function flipBit(bytes: Uint8Array, index = 0): Uint8Array {
  const copy = bytes.slice();
  copy[index] = (copy[index] as number) ^ 0x01;
  return copy;
}

export const utf8 = (text: string) => new TextEncoder().encode(text);
