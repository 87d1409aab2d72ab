import { BitstringStatusList } from '@digitalbazaar/vc-bitstring-status-list';
import { base64urlnopad } from '@scure/base';
import { CredentialError } from '../errors.js';
import { statusListError } from './errors.js';

/** The minimum number of entries of a status list (Bitstring Status List v1.0 §3.2): 16 KiB of bits. */
export const STATUS_LIST_MIN_LENGTH = 131_072;
/** Decoding stops beyond this many uncompressed bytes (128 Mi entries): a GZIP bomb cannot exhaust memory. */
export const STATUS_LIST_MAX_BYTES = 16 * 1024 * 1024;

/**
 * A bitstring of single-bit statuses, index 0 the left-most bit of the first byte (§2.2). Bit operations and
 * the encoding are `@digitalbazaar/vc-bitstring-status-list`'s; decoding is bounded here.
 */
export class StatusList {
  private constructor(private readonly bits: BitstringStatusList) {}

  /** An all-zero list; `length` is a multiple of 8 and at least `STATUS_LIST_MIN_LENGTH`. */
  static create(length: number = STATUS_LIST_MIN_LENGTH): StatusList {
    if (!Number.isSafeInteger(length) || length < STATUS_LIST_MIN_LENGTH || length % 8 !== 0) {
      throw new CredentialError(
        'invalid-argument',
        `A status list holds a multiple of 8 entries, at least ${STATUS_LIST_MIN_LENGTH} (got ${length}).`,
      );
    }
    return new StatusList(new BitstringStatusList({ length }));
  }

  /**
   * The list an `encodedList` holds: multibase `u` + base64url (no padding) of the GZIP of the bits
   * (§3.4). Anything else, or more than `maxBytes` once uncompressed, is a `malformed-value-error`.
   */
  static async decode(encodedList: unknown, maxBytes: number = STATUS_LIST_MAX_BYTES): Promise<StatusList> {
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
    return new StatusList(new BitstringStatusList({ buffer: bytes }));
  }

  get length(): number {
    return this.bits.length;
  }

  get(index: number): boolean {
    return this.bits.getStatus(this.checked(index));
  }

  set(index: number, status: boolean): void {
    this.bits.setStatus(this.checked(index), status);
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
