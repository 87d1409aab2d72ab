import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance } from 'fastify';

/**
 * Bodies are validated strictly: no type coercion (a number is not a string) and no silent removal of
 * unknown fields (schemas say `additionalProperties: false`, so they are rejected and named). Query
 * strings and path parameters arrive as text, so those may be coerced.
 */
function makeAjv(coerceTypes: boolean): Ajv {
  const options: Options = {
    allErrors: true,
    coerceTypes,
    removeAdditional: false,
    useDefaults: true,
    strict: false,
  };
  const ajv = new Ajv(options);
  (addFormats as unknown as (ajv: Ajv) => Ajv)(ajv);
  return ajv;
}

export function registerValidation(app: FastifyInstance): void {
  const strict = makeAjv(false);
  const coercing = makeAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? strict.compile(schema) : coercing.compile(schema),
  );
}
