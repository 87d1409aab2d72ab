import { CryptoError } from '../errors.js';
import type { Backend } from '../types.js';

export interface Implementations<T> {
  noble: T;
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
  if (backend === 'native') return implementations.native?.() ?? implementations.noble;
  if (backend === 'noble') return implementations.noble;
  throw new CryptoError('unsupported-algorithm', `unknown backend: ${String(backend)}`);
}
