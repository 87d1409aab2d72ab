import { parentPort } from 'node:worker_threads';
import { CryptoError } from '../errors.js';
import type { SignatureAlgorithm } from '../types.js';
import { signatureScheme } from './index.js';
import type { VerificationAnswer, VerificationBatch, VerificationOutcome } from './verification-protocol.js';

/** A verification thread of VerificationThreads: checks each batch with the native schemes, in order. */
async function verifyBatch({
  algorithms,
  lengths,
  bytes,
}: VerificationBatch): Promise<VerificationOutcome[]> {
  const outcomes: VerificationOutcome[] = [];
  let offset = 0;
  const next = (length: number) => {
    const part = bytes.subarray(offset, offset + length);
    offset += length;
    return part;
  };
  for (let i = 0; i < algorithms.length; i++) {
    const publicKey = next(lengths[3 * i] as number);
    const message = next(lengths[3 * i + 1] as number);
    const signature = next(lengths[3 * i + 2] as number);
    try {
      outcomes.push(
        await signatureScheme(algorithms[i] as SignatureAlgorithm).verify(publicKey, message, signature),
      );
    } catch (error) {
      outcomes.push(
        error instanceof CryptoError
          ? { code: error.code, message: error.message }
          : { code: 'malformed-input', message: String(error) },
      );
    }
  }
  return outcomes;
}

const port = parentPort;
if (port === null) throw new Error('verification-thread.js runs as a worker thread of VerificationThreads');
port.on('message', async (batch: VerificationBatch) => {
  port.postMessage({ id: batch.id, outcomes: await verifyBatch(batch) } satisfies VerificationAnswer);
});
