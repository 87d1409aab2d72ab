import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ProblemResponses } from '../../http/openapi.js';
import { pageOf } from '../../http/pagination.js';
import type { VaultDevices } from './devices.js';
import {
  AccessLogPage,
  AccessLogQuery,
  CommitBody,
  CommitResult,
  CreateDevice,
  CreatedSession,
  CreateSession,
  CreateVault,
  Device,
  DeviceParams,
  DeviceQuery,
  ItemParams,
  ItemsPage,
  ItemVersion,
  ManifestChain,
  ManifestsQuery,
  MemberHeaders,
  Members,
  PageQuery,
  ProjectParams,
  SessionView,
  SignedManifest,
  StepUpBody,
  TemplateBody,
  TrustTemplate,
  Vault,
  VaultParams,
  VaultProblemResponses,
  VersionParams,
  VersionsPage,
} from './schemas.js';
import type { MemberHeaders as Headers, VaultService } from './service.js';

/** A commit carries ciphertext: a few large items or many small ones. Larger items go in commits of their own. */
export const MAX_COMMIT_BODY_BYTES = 16 * 1024 * 1024;

const memberHeaders = (request: FastifyRequest): Headers => {
  const single = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);
  return {
    'persona-vault-session': single(request.headers['persona-vault-session']),
    'persona-vault-approval': single(request.headers['persona-vault-approval']),
  };
};

/**
 * Vaults (contract §2.1–2.3). Routes marked "member" act for a vault member: they need the member's
 * session (Persona-Vault-Session), and each is an access decision written to the vault's access log.
 */
export const vaultRoutes: FastifyPluginAsyncTypebox<{ vaults: VaultService; devices: VaultDevices }> = async (
  app,
  { vaults, devices },
) => {
  const tags = ['vaults'];
  const base = '/v1/projects/:projectId/vaults';
  const vault = `${base}/:vaultId`;
  app.addContentTypeParser(
    'application/yaml',
    { parseAs: 'string', bodyLimit: 65_536 },
    (_request, body, done) => done(null, body),
  );

  app.post(
    base,
    {
      schema: {
        tags,
        summary: 'Create a vault from its genesis manifest (vaults:write; a template needs vaults:admin)',
        params: ProjectParams,
        body: CreateVault,
        response: { 201: Vault, ...VaultProblemResponses },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await vaults.create(request.principal, request.params.projectId, request.body)),
  );

  app.get(
    base,
    {
      schema: {
        tags,
        summary: "List the project's vaults, oldest first (vaults:read)",
        params: ProjectParams,
        querystring: PageQuery,
        response: { 200: pageOf(Vault), ...ProblemResponses },
      },
    },
    async (request) => vaults.list(request.principal, request.params.projectId, request.query),
  );

  app.get(
    vault,
    {
      schema: {
        tags,
        summary: 'A vault: owner, status and current manifest (vaults:read)',
        params: VaultParams,
        response: { 200: Vault, ...ProblemResponses },
      },
    },
    async (request) => vaults.get(request.principal, request.params.projectId, request.params.vaultId),
  );

  app.delete(
    vault,
    {
      schema: {
        tags,
        summary:
          'Shred a vault: destroy every sealed key and ciphertext (member: owner or admin; vaults:write)',
        description:
          'Crypto-shredding; the manifests stay, so the vault’s history remains verifiable. Answers 204.',
        params: VaultParams,
        headers: MemberHeaders,
        response: { 204: Type.Null(), ...VaultProblemResponses },
      },
    },
    async (request, reply) => {
      await vaults.shred(
        request.principal,
        request.params.projectId,
        request.params.vaultId,
        memberHeaders(request),
      );
      return reply.code(204).send(null);
    },
  );

  app.get(
    `${vault}/trust-template`,
    {
      schema: {
        tags,
        summary: "The vault's trust template, normalized (vaults:read)",
        params: VaultParams,
        response: { 200: TrustTemplate, ...ProblemResponses },
      },
    },
    async (request) =>
      vaults.getTemplate(request.principal, request.params.projectId, request.params.vaultId),
  );

  app.put(
    `${vault}/trust-template`,
    {
      schema: {
        tags,
        summary: "Replace the vault's trust template, as JSON or YAML (vaults:admin)",
        description: 'Fields left out take the shipped defaults. Answers the normalized template. Audited.',
        params: VaultParams,
        body: TemplateBody,
        response: { 200: TrustTemplate, ...ProblemResponses },
      },
    },
    async (request) => {
      const yaml = (request.headers['content-type'] ?? '').startsWith('application/yaml');
      return vaults.putTemplate(
        request.principal,
        request.params.projectId,
        request.params.vaultId,
        request.body,
        yaml ? 'yaml' : 'json',
      );
    },
  );

  // ---- member sessions ----
  app.post(
    `${vault}/sessions`,
    {
      schema: {
        tags,
        summary: 'Open a member session with a proof of possession of the member keys (vaults:write)',
        description:
          'The member signs sessionProofInput (domain `session`) with its hybrid keys; the application asserts ' +
          'the context. The token lives 15 minutes and is shown once.',
        params: VaultParams,
        body: CreateSession,
        response: { 201: CreatedSession, ...VaultProblemResponses },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await vaults.openSession(
            request.principal,
            request.params.projectId,
            request.params.vaultId,
            request.body,
            request.ip,
          ),
        ),
  );

  app.post(
    `${vault}/sessions/current/step-up`,
    {
      schema: {
        tags,
        summary: "Record the member's fresh authentication on its session (member; vaults:write)",
        params: VaultParams,
        headers: MemberHeaders,
        body: StepUpBody,
        response: { 200: SessionView, ...VaultProblemResponses },
      },
    },
    async (request) =>
      vaults.stepUp(
        request.principal,
        request.params.projectId,
        request.params.vaultId,
        memberHeaders(request),
        request.body.authentication,
      ),
  );

  app.delete(
    `${vault}/sessions/current`,
    {
      schema: {
        tags,
        summary: 'End the member session (member; vaults:write)',
        params: VaultParams,
        headers: MemberHeaders,
        response: { 204: Type.Null(), ...VaultProblemResponses },
      },
    },
    async (request, reply) => {
      await vaults.endSession(
        request.principal,
        request.params.projectId,
        request.params.vaultId,
        memberHeaders(request),
      );
      return reply.code(204).send(null);
    },
  );

  // ---- devices ----
  app.post(
    '/v1/projects/:projectId/vault-devices',
    {
      schema: {
        tags,
        summary: "Register a member's device by the hash of its fingerprint (vaults:write)",
        params: ProjectParams,
        body: CreateDevice,
        response: { 201: Device, ...ProblemResponses },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await devices.register(request.principal, request.params.projectId, request.body)),
  );

  app.get(
    '/v1/projects/:projectId/vault-devices',
    {
      schema: {
        tags,
        summary: "List members' devices, optionally of one subject (vaults:read)",
        params: ProjectParams,
        querystring: DeviceQuery,
        response: { 200: pageOf(Device), ...ProblemResponses },
      },
    },
    async (request) => devices.list(request.principal, request.params.projectId, request.query),
  );

  app.delete(
    '/v1/projects/:projectId/vault-devices/:deviceId',
    {
      schema: {
        tags,
        summary: 'Delete a member device (vaults:write)',
        params: DeviceParams,
        response: { 204: Type.Null(), ...ProblemResponses },
      },
    },
    async (request, reply) => {
      await devices.remove(request.principal, request.params.projectId, request.params.deviceId);
      return reply.code(204).send(null);
    },
  );

  // ---- commits, items, manifests, members ----
  app.post(
    `${vault}/commits`,
    {
      bodyLimit: MAX_COMMIT_BODY_BYTES,
      schema: {
        tags,
        summary: 'Commit writes, deletes, reseals and member changes with the next signed manifest (member)',
        description:
          'The manifest must be the successor of the current one (else 409 manifest-conflict) and list exactly the ' +
          'state this commit leaves (else 422 invalid-manifest). One transaction. Body at most 16 MiB.',
        params: VaultParams,
        headers: MemberHeaders,
        body: CommitBody,
        response: { 200: CommitResult, ...VaultProblemResponses },
      },
    },
    async (request) =>
      vaults.commit(
        request.principal,
        request.params.projectId,
        request.params.vaultId,
        memberHeaders(request),
        request.body,
      ),
  );

  app.get(
    `${vault}/items`,
    {
      schema: {
        tags,
        summary: 'List the live items with their current versions (member; action list)',
        params: VaultParams,
        headers: MemberHeaders,
        querystring: PageQuery,
        response: { 200: ItemsPage, ...VaultProblemResponses },
      },
    },
    async (request) =>
      vaults.listItems(
        request.principal,
        request.params.projectId,
        request.params.vaultId,
        memberHeaders(request),
        request.query,
      ),
  );

  app.get(
    `${vault}/items/:itemId`,
    {
      schema: {
        tags,
        summary: "An item's current version with the member's sealed data key (member; action read)",
        params: ItemParams,
        headers: MemberHeaders,
        response: { 200: ItemVersion, ...VaultProblemResponses },
      },
    },
    async (request) =>
      vaults.readItem(
        request.principal,
        request.params.projectId,
        request.params.vaultId,
        request.params.itemId,
        undefined,
        memberHeaders(request),
      ),
  );

  app.get(
    `${vault}/items/:itemId/versions`,
    {
      schema: {
        tags,
        summary: "List an item's versions, oldest first (member; action list)",
        params: ItemParams,
        headers: MemberHeaders,
        querystring: PageQuery,
        response: { 200: VersionsPage, ...VaultProblemResponses },
      },
    },
    async (request) =>
      vaults.listVersions(
        request.principal,
        request.params.projectId,
        request.params.vaultId,
        request.params.itemId,
        memberHeaders(request),
        request.query,
      ),
  );

  app.get(
    `${vault}/items/:itemId/versions/:version`,
    {
      schema: {
        tags,
        summary: 'One version of an item with the member’s sealed data key (member; action read)',
        params: VersionParams,
        headers: MemberHeaders,
        response: { 200: ItemVersion, ...VaultProblemResponses },
      },
    },
    async (request) =>
      vaults.readItem(
        request.principal,
        request.params.projectId,
        request.params.vaultId,
        request.params.itemId,
        request.params.version,
        memberHeaders(request),
      ),
  );

  app.get(
    `${vault}/manifests/current`,
    {
      schema: {
        tags,
        summary: 'The current signed manifest (member; action list)',
        params: VaultParams,
        headers: MemberHeaders,
        response: { 200: SignedManifest, ...VaultProblemResponses },
      },
    },
    async (request) =>
      vaults.currentManifest(
        request.principal,
        request.params.projectId,
        request.params.vaultId,
        memberHeaders(request),
      ),
  );

  app.get(
    `${vault}/manifests`,
    {
      schema: {
        tags,
        summary:
          'The manifest chain after a sequence, oldest first, with every key it names (member; action list)',
        params: VaultParams,
        headers: MemberHeaders,
        querystring: ManifestsQuery,
        response: { 200: ManifestChain, ...VaultProblemResponses },
      },
    },
    async (request) =>
      vaults.manifests(
        request.principal,
        request.params.projectId,
        request.params.vaultId,
        memberHeaders(request),
        request.query,
      ),
  );

  app.get(
    `${vault}/members`,
    {
      schema: {
        tags,
        summary: 'The current members with their public keys (member; action list)',
        params: VaultParams,
        headers: MemberHeaders,
        response: { 200: Members, ...VaultProblemResponses },
      },
    },
    async (request) =>
      vaults.members(
        request.principal,
        request.params.projectId,
        request.params.vaultId,
        memberHeaders(request),
      ),
  );

  app.get(
    `${vault}/access-log`,
    {
      schema: {
        tags,
        summary:
          "The vault's access decisions, oldest first, with ledger inclusion proofs on request (vaults:read)",
        params: VaultParams,
        querystring: AccessLogQuery,
        response: { 200: AccessLogPage, ...ProblemResponses },
      },
    },
    async (request) =>
      vaults.accessLog(request.principal, request.params.projectId, request.params.vaultId, request.query),
  );
};
