import type { BuiltOperation } from '@personachain/credentials';
import { toBase64Url } from '@personachain/crypto';
import { PersonaApiError, type PersonaClient, type Problem } from '@personachain/sdk';
import { CliError } from '../errors.js';
import { sdkError } from '../sdk.js';

/** What the server made of a submitted operation. */
export interface Submission {
  did: string;
  type: BuiltOperation['operation']['type'];
  versionId: string;
  /** Null when the server accepted the operation but has not integrated it into the ledger yet. */
  ledgerIndex: number | null;
}

/** The server answered and refused the operation: it was certainly not appended. */
export class RefusedOperation extends CliError {
  override name = 'RefusedOperation';
}

/**
 * Sends a signed operation: a genesis to `POST /v1/projects/{projectId}/dids`, any other to
 * `…/dids/{did}/operations`. Only the signed bytes are sent.
 */
export async function submitOperation(
  client: PersonaClient,
  url: string,
  projectId: string,
  built: BuiltOperation,
): Promise<Submission> {
  const body = { operation: toBase64Url(built.bytes) };
  const { operation } = built;
  const call =
    operation.type === 'create'
      ? client.api.POST('/v1/projects/{projectId}/dids', { params: { path: { projectId } }, body })
      : client.api.POST('/v1/projects/{projectId}/dids/{did}/operations', {
          params: { path: { projectId, did: operation.did } },
          body,
        });
  const { data, error, response } = await call.catch((cause: unknown) => {
    throw sdkError(cause, url);
  });
  if (!response.ok) {
    const { message, details } = sdkError(problemError(response, error), url) as CliError;
    throw new RefusedOperation(message, 1, details);
  }
  return data as Submission;
}

function problemError(response: Response, body: unknown): PersonaApiError {
  const problem = body as Partial<Problem> | undefined;
  if (typeof problem?.type === 'string' && typeof problem.title === 'string') {
    return new PersonaApiError({ ...(problem as Problem), status: response.status });
  }
  const title = `HTTP ${response.status} ${response.statusText}`.trim();
  return new PersonaApiError({ type: 'about:blank', title, status: response.status, detail: title });
}
