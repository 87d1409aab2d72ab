/** Messages between the server and its JSONata evaluator process (evaluator-process.ts). */

/** Server → evaluator: evaluate `expression` on `document` with `bindings` as `$name` variables. */
export interface EvaluationJob {
  id: number;
  expression: string;
  document: unknown;
  bindings: Record<string, unknown>;
}

/** Evaluator → server: `ready` once it has loaded, then one answer per job. */
export type EvaluatorMessage =
  | { type: 'ready' }
  | {
      type: 'result';
      id: number;
      /** JSON of the result; absent when the expression produced nothing (JSONata's undefined). */
      json?: string;
    }
  | {
      type: 'error';
      id: number;
      /** JSONata's error code (e.g. D1012 for the time limit), or `not-json` for a function result. */
      code: string;
      position?: number;
    };

/** JSONata's own limits inside the evaluator: per-evaluation time and depth, and sequence length. */
export const EVALUATION_LIMITS = { timeout: 100, stack: 100, sequence: 100_000 } as const;
