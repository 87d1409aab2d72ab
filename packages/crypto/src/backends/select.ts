import { CryptoError } from '../errors.js';
import type { Backend } from '../types.js';

export interface Implementations<T> {
  /** The pure-JS implementation; absent for RSA, which only runs on `node:crypto`. */
  noble?: T;
  /** The `node:crypto` implementation, or undefined where this runtime lacks the algorithm. */
  native?: () => T | undefined;
}

/**
 * Picks the implementation of `algorithm` from a registry. `'native'` (the default) falls back to noble
 * where the runtime lacks the algorithm; the returned object's `backend` says which one really runs.
 */
export function selectBackend<A extends string, T>(
  registry: Record<A, Implementations<T>>,
  kind: string,
  algorithm: A,
  backend: Backend,
): T {
  const implementations = Object.hasOwn(registry, algorithm) ? registry[algorithm] : undefined;
  if (!implementations)
    throw new CryptoError('unsupported-algorithm', `unknown ${kind}: ${String(algorithm)}`);
  if (backend !== 'native' && backend !== 'noble') {
    throw new CryptoError('unsupported-algorithm', `unknown backend: ${String(backend)}`);
  }
  const chosen = (backend === 'native' ? implementations.native?.() : undefined) ?? implementations.noble;
  if (chosen) return chosen;
  throw new CryptoError(
    'unsupported-algorithm',
    backend === 'noble'
      ? `${kind} ${String(algorithm)} has no pure-JS implementation`
      : `${kind} ${String(algorithm)} needs node:crypto, which this runtime lacks`,
  );
}
