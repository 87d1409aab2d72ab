/**
 * The JSONata evaluator process. Connector mappings and success rules are tenant-written code: JSONata's own
 * guards stop long loops and deep recursion, but not a catastrophic regular expression or one huge string,
 * which would stall or abort a process. So they run here, in a child process with a small heap and no
 * environment, which the server kills and replaces when an evaluation overruns (evaluator.ts).
 */
import jsonata from 'jsonata';
import { EVALUATION_LIMITS, type EvaluationJob, type EvaluatorMessage } from './evaluator-protocol.js';

/** Compiled expressions by text; connectors reuse a handful each. */
const compiled = new Map<string, jsonata.Expression>();
const MAX_COMPILED = 256;

function expressionOf(text: string): jsonata.Expression {
  let expression = compiled.get(text);
  if (!expression) {
    expression = jsonata(text, { ...EVALUATION_LIMITS });
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value as string);
    compiled.set(text, expression);
  }
  return expression;
}

class NotJson extends Error {}

/** JSON of a result; functions (a lambda returned as a value) are not data. */
function toJson(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'function') throw new NotJson('the expression returned a function, not data');
    return item;
  });
}

function send(message: EvaluatorMessage): void {
  process.send?.(message);
}

async function evaluate(job: EvaluationJob): Promise<EvaluatorMessage> {
  try {
    const value: unknown = await expressionOf(job.expression).evaluate(job.document, job.bindings);
    const json = toJson(value);
    return json === undefined ? { type: 'result', id: job.id } : { type: 'result', id: job.id, json };
  } catch (error) {
    if (error instanceof NotJson) return { type: 'error', id: job.id, code: 'not-json' };
    // Only the code and position: JSONata's message may quote the data evaluated.
    const failure = error as { code?: unknown; position?: unknown };
    return {
      type: 'error',
      id: job.id,
      code: typeof failure.code === 'string' ? failure.code : 'error',
      ...(typeof failure.position === 'number' ? { position: failure.position } : {}),
    };
  }
}

process.on('message', (job: EvaluationJob) => {
  void evaluate(job).then(send);
});
// The server is gone: nothing left to answer.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
