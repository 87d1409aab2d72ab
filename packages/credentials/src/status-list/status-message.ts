/** One element of an entry's `statusMessage` (§2.1): the value as `0x…` hex and what it means. */
export interface StatusMessage {
  status: string;
  message: string;
}

const HEX_VALUE = /^0x[0-9a-fA-F]+$/;

/**
 * The messages of an entry of `statusSize` bits by value, or why its `statusMessage` breaks §2.1: an array
 * of exactly 2^statusSize elements (one per possible value), each with `status` — the value as a `0x`-
 * prefixed hex string — and `message` strings. Each value must appear once, so every value has one meaning.
 */
export function parseStatusMessages(
  statusSize: number,
  statusMessage: unknown,
): { messages: Map<number, string> } | { problem: string } {
  const values = 2 ** statusSize;
  if (!Array.isArray(statusMessage) || statusMessage.length !== values) {
    return {
      problem: `"statusMessage" must be an array of ${values} elements, one per value of ${statusSize} bits.`,
    };
  }
  const messages = new Map<number, string>();
  for (const [i, element] of statusMessage.entries()) {
    const { status, message } = (element ?? {}) as Partial<Record<string, unknown>>;
    if (typeof status !== 'string' || !HEX_VALUE.test(status) || typeof message !== 'string') {
      return {
        problem: `"statusMessage" element ${i} must have a "status" like "0x1" and a "message" string.`,
      };
    }
    const value = Number.parseInt(status.slice(2), 16);
    if (value >= values || messages.has(value)) {
      return {
        problem: `"statusMessage" element ${i}: status ${status} is ${value >= values ? 'out of range' : 'repeated'}.`,
      };
    }
    messages.set(value, message);
  }
  return { messages };
}
