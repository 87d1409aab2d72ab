import { createServer } from 'node:net';
import * as client from 'openid-client';
import { expect } from 'vitest';
import type { KeyStateStore } from '../src/modules/oidc/key-state-repo.js';
import type { OidcKeyStatesTable } from '../src/store/schema.js';
import type { Tenant, TestServer } from './helpers.js';

/** A free local port, so a server's public URL (and so its issuers) can name the address tests really call. */
export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

/** openid-client's configuration for a confidential client (client_secret_basic) of `issuer`, over plain HTTP. */
export function discoverClient(
  issuer: string,
  clientId: string,
  clientSecret: string,
): Promise<client.Configuration> {
  return client.discovery(new URL(issuer), clientId, undefined, client.ClientSecretBasic(clientSecret), {
    execute: [client.allowInsecureRequests],
  });
}

/** Registers an OIDC client in the tenant's project (as its developer), and discovers it at `issuer`. */
export async function registerClient(
  server: TestServer,
  tenant: Tenant,
  issuer: string,
  body: Record<string, unknown>,
): Promise<{ body: Record<string, any>; config: client.Configuration }> {
  const created = await server.json('POST', `/v1/projects/${tenant.projectId}/oidc-clients`, {
    key: tenant.keys.developer,
    body,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return {
    body: created.body,
    config: await discoverClient(issuer, created.body.clientId, created.body.clientSecret),
  };
}

/** The key lifecycle rows in a map, as the table keeps them. */
export function memoryKeyStates(): KeyStateStore {
  const rows = new Map<string, OidcKeyStatesTable>();
  const rotations = new Map<string, { pendingUntil: string; claimedAt: string }>();
  return {
    async list(projectId) {
      return [...rows.values()].filter((row) => row.project_id === projectId);
    },
    async find(projectId, kid) {
      const row = rows.get(kid);
      return row?.project_id === projectId ? row : undefined;
    },
    async insert(row) {
      if (!rows.has(row.kid)) rows.set(row.kid, { ...row });
    },
    async retire(projectId, kid, at) {
      const row = rows.get(kid);
      if (row?.project_id === projectId && row.retired_at === null) row.retired_at = at;
    },
    async revoke(projectId, kid, at) {
      const row = rows.get(kid);
      if (row?.project_id !== projectId || row.revoked_at !== null) return;
      row.revoked_at = at;
      row.retired_at ??= at;
    },
    async claimStagedRotation(projectId, claim) {
      const pending = rotations.get(projectId);
      if (pending && pending.pendingUntil > claim.now && pending.claimedAt > claim.interruptedBefore) {
        return false;
      }
      rotations.set(projectId, { pendingUntil: claim.pendingUntil, claimedAt: claim.now });
      return true;
    },
    async endPendingRotation(projectId, at) {
      const pending = rotations.get(projectId);
      if (pending) pending.pendingUntil = at;
    },
  };
}
