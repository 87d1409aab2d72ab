import { fromBase64Url, sealDetached, toBase64Url } from '@personachain/crypto';
import { documentAad } from '../src/modules/kyc/documents.js';
import { mrzCheckDigit } from '../src/modules/kyc/mrz.js';
import type { Tenant, TestServer } from './helpers.js';

/** A TD3 (passport) MRZ with correct check digits, in the format of ICAO's "Utopia" specimen. */
export function td3(options: {
  surname?: string;
  given?: string;
  number?: string;
  country?: string;
  birth: string; // YYMMDD
  expiry: string; // YYMMDD
  sex?: 'M' | 'F' | '<';
}): string[] {
  const country = options.country ?? 'UTO';
  const name = `${options.surname ?? 'ERIKSSON'}<<${(options.given ?? 'ANNA MARIA').replace(/ /g, '<')}`;
  const line1 = `P<${country}${name}`.padEnd(44, '<').slice(0, 44);
  const number = (options.number ?? 'L898902C3').padEnd(9, '<');
  const optional = 'ZE184226B'.padEnd(14, '<');
  const numberPart = `${number}${mrzCheckDigit(number)}`;
  const birthPart = `${options.birth}${mrzCheckDigit(options.birth)}`;
  const expiryPart = `${options.expiry}${mrzCheckDigit(options.expiry)}`;
  const optionalPart = `${optional}${mrzCheckDigit(optional)}`;
  const composite = mrzCheckDigit(`${numberPart}${birthPart}${expiryPart}${optionalPart}`);
  const line2 = `${numberPart}${country}${birthPart}${options.sex ?? 'F'}${expiryPart}${optionalPart}${composite}`;
  return [line1, line2];
}

/** Waits until the session reaches `status` (or any status when omitted and it leaves `from`). */
export async function waitForStatus(
  server: TestServer,
  tenant: Tenant,
  sessionId: string,
  statuses: string[],
  timeoutMs = 10_000,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await server.json('GET', `/v1/projects/${tenant.projectId}/verifications/${sessionId}`, {
      key: tenant.keys.auditor,
    });
    if (statuses.includes(got.body?.status)) return got.body;
    if (Date.now() > deadline) {
      throw new Error(
        `session ${sessionId} is ${got.body?.status} (${got.body?.statusReason}), not ${statuses}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Configures the built-in local provider for a tenant. */
export async function localProvider(
  server: TestServer,
  tenant: Tenant,
  fields: Record<string, unknown> = {},
) {
  const made = await server.json('POST', `/v1/projects/${tenant.projectId}/verification-providers`, {
    key: tenant.keys.admin,
    body: { kind: 'local', name: 'Built-in MRZ checks', ...fields },
  });
  if (made.status !== 201) throw new Error(`local provider: ${JSON.stringify(made.body)}`);
  return made.body;
}

/** The end user's capture client, as the SDK does it: documents sealed to the project's key. */
export function captureClient(server: TestServer, clientToken: string) {
  const call = (method: string, path: string, body?: unknown) =>
    server.json(method, path, { key: clientToken, ...(body === undefined ? {} : { body }) });
  let session: any = null;
  return {
    async session() {
      const got = await call('GET', '/v1/verification-client/session');
      if (got.status !== 200) throw new Error(`client session: ${JSON.stringify(got.body)}`);
      session = got.body;
      return session;
    },
    async upload(kind: string, bytes: Uint8Array, contentType: string) {
      session ??= await this.session();
      const recipient = {
        suite: 'X-Wing' as const,
        publicKey: fromBase64Url(session.encryptionKey.publicKey),
      };
      const sealed = await sealDetached(recipient, bytes, {
        aad: documentAad(session.id, session.attempt, kind),
      });
      return call('PUT', `/v1/verification-client/documents/${kind}`, {
        contentType,
        sealedKey: toBase64Url(sealed.sealedKey),
        ciphertext: toBase64Url(sealed.ciphertext),
      });
    },
    fields(fields: Record<string, unknown>) {
      return this.upload('fields', new TextEncoder().encode(JSON.stringify(fields)), 'application/json');
    },
    submit() {
      return call('POST', '/v1/verification-client/submit');
    },
    forget() {
      session = null;
    },
  };
}

/** A passport scan stand-in with a marker that must never appear at rest. */
export const PLAINTEXT_MARKER = 'PLAINTEXT-PASSPORT-SCAN-7d1f';
export const passportScan = () => new TextEncoder().encode(`\xff\xd8${PLAINTEXT_MARKER} jpeg bytes`);

/** Creates a session and returns its id and client token. */
export async function createSession(server: TestServer, tenant: Tenant, body: Record<string, unknown>) {
  const made = await server.json('POST', `/v1/projects/${tenant.projectId}/verifications`, {
    key: tenant.keys.developer,
    body,
  });
  if (made.status !== 201) throw new Error(`session: ${JSON.stringify(made.body)}`);
  return {
    id: made.body.session.id as string,
    token: made.body.clientToken as string,
    session: made.body.session,
  };
}
