import { BitstringStatusList } from '@digitalbazaar/vc-bitstring-status-list';
import { base64urlnopad } from '@scure/base';
import { CredentialError } from '../errors.js';
import { statusListError } from './errors.js';

/** The minimum number of entries of a status list (Bitstring Status List v1.0 §3.2): 16 KiB of bits. */
export const STATUS_LIST_MIN_LENGTH = 131_072;
/** Decoding stops beyond this many uncompressed bytes (128 Mi entries): a GZIP bomb cannot exhaust memory. */
export const STATUS_LIST_MAX_BYTES = 16 * 1024 * 1024;
/**
 * The widest entry a list holds. An entry of `n` bits needs `2^n` `statusMessage` elements (§2.1), so no
 * real entry is this wide; the bound keeps every value an exact integer.
 */
export const STATUS_SIZE_MAX = 32;

/**
 * A bitstring of statuses of `statusSize` bits each (§2.2): index 0 is the left-most bit of the first
 * byte, and entry `i` is the bits from `i × statusSize` on (§3.2 "credentialIndex multiplied by the
 * size"), its left-most bit the most significant. Bit operations and the encoding are
 * `@digitalbazaar/vc-bitstring-status-list`'s; decoding is bounded here.
 */
export class StatusList {
  private constructor(
    private readonly bits: BitstringStatusList,
    /** Bits per entry; 1 for revocation and suspension lists. */
    readonly statusSize: number,
  ) {}

  /**
   * An all-zero list of `length` entries of `statusSize` bits; `length` is a multiple of 8 and at least
   * `STATUS_LIST_MIN_LENGTH`, so the list holds at least 131,072 × `statusSize` bits (§3.2).
   */
  static create(length: number = STATUS_LIST_MIN_LENGTH, statusSize = 1): StatusList {
    checkedSize(statusSize, 'invalid-argument');
    if (!Number.isSafeInteger(length) || length < STATUS_LIST_MIN_LENGTH || length % 8 !== 0) {
      throw new CredentialError(
        'invalid-argument',
        `A status list holds a multiple of 8 entries, at least ${STATUS_LIST_MIN_LENGTH} (got ${length}).`,
      );
    }
    return new StatusList(new BitstringStatusList({ length: length * statusSize }), statusSize);
  }

  /**
   * The list an `encodedList` holds, read as entries of `statusSize` bits (default 1): multibase `u` +
   * base64url (no padding) of the GZIP of the bits (§3.4). Anything else, or more than `maxBytes` once
   * uncompressed, is a `malformed-value-error`.
   */
  static async decode(
    encodedList: unknown,
    options: { maxBytes?: number; statusSize?: number } = {},
  ): Promise<StatusList> {
    const { maxBytes = STATUS_LIST_MAX_BYTES, statusSize = 1 } = options;
    checkedSize(statusSize, 'malformed-value-error');
    if (typeof encodedList !== 'string' || !encodedList.startsWith('u')) {
      throw statusListError(
        'malformed-value-error',
        '"encodedList" must be a multibase base64url string ("u…").',
      );
    }
    let compressed: Uint8Array;
    try {
      compressed = base64urlnopad.decode(encodedList.slice(1));
    } catch (error) {
      throw statusListError(
        'malformed-value-error',
        '"encodedList" is not valid base64url without padding.',
        {
          cause: error,
        },
      );
    }
    const bytes = await gunzip(compressed, maxBytes);
    if (bytes.length === 0) throw statusListError('malformed-value-error', '"encodedList" holds no bits.');
    return new StatusList(new BitstringStatusList({ buffer: bytes }), statusSize);
  }

  /** The same bits read as entries of another `statusSize` (an entry names the size it was issued with). */
  withStatusSize(statusSize: number): StatusList {
    checkedSize(statusSize, 'malformed-value-error');
    return new StatusList(this.bits, statusSize);
  }

  /** The number of whole entries: the bits divided by `statusSize`. */
  get length(): number {
    return Math.floor(this.bits.length / this.statusSize);
  }

  /** Whether entry `index` is set (its value is not 0): revoked, suspended, … */
  get(index: number): boolean {
    return this.getValue(index) !== 0;
  }

  /** Sets entry `index` to 1 (`true`) or 0. */
  set(index: number, status: boolean): void {
    this.setValue(index, status ? 1 : 0);
  }

  /** The value of entry `index`, from 0 to 2^statusSize − 1. */
  getValue(index: number): number {
    const first = this.checked(index) * this.statusSize;
    let value = 0;
    for (let bit = 0; bit < this.statusSize; bit++) {
      value = value * 2 + (this.bits.getStatus(first + bit) ? 1 : 0);
    }
    return value;
  }

  setValue(index: number, value: number): void {
    const first = this.checked(index) * this.statusSize;
    const values = 2 ** this.statusSize;
    if (!Number.isSafeInteger(value) || value < 0 || value >= values) {
      throw new CredentialError(
        'invalid-argument',
        `A ${this.statusSize}-bit status is an integer from 0 to ${values - 1} (got ${value}).`,
      );
    }
    let rest = value;
    for (let bit = this.statusSize - 1; bit >= 0; bit--) {
      this.bits.setStatus(first + bit, rest % 2 === 1);
      rest = Math.floor(rest / 2);
    }
  }

  /** `encodedList`: `u` + base64url of the GZIP of the bits. */
  encode(): Promise<string> {
    return this.bits.encode();
  }

  private checked(index: number): number {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.length) {
      throw statusListError(
        'range-error',
        `Index ${index} is outside the status list (0–${this.length - 1}).`,
      );
    }
    return index;
  }
}

function checkedSize(statusSize: number, code: 'invalid-argument' | 'malformed-value-error'): void {
  if (Number.isSafeInteger(statusSize) && statusSize >= 1 && statusSize <= STATUS_SIZE_MAX) return;
  const message = `"statusSize" must be an integer from 1 to ${STATUS_SIZE_MAX} (got ${statusSize}).`;
  throw code === 'invalid-argument' ? new CredentialError(code, message) : statusListError(code, message);
}

/** GZIP decompression (WHATWG DecompressionStream: Node and browsers) that stops past `maxBytes`. */
async function gunzip(compressed: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(compressed);
      controller.close();
    },
  });
  const reader = source.pipeThrough(new DecompressionStream('gzip')).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel();
        throw statusListError(
          'malformed-value-error',
          `"encodedList" expands to more than ${maxBytes} bytes; refused.`,
        );
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof CredentialError) throw error;
    throw statusListError('malformed-value-error', '"encodedList" is not valid GZIP data.', { cause: error });
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}
