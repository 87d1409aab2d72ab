import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { RateLimitConfig } from '../../config.js';
import { limitPerAddress, type RateLimiter } from '../../http/rate-limit.js';
import type { SessionAuth } from '../identity/session-auth.js';
import { ProjectParams } from '../tenancy/schemas.js';
import type { CredentialWallet } from './credential-wallet.js';
import {
  DidChallenge,
  DidParams,
  HeldCredential,
  HeldCredentialParams,
  HeldCredentials,
  HeldCredentialWithContent,
  IssueToUser,
  LinkDid,
  LinkedDid,
  LinkedDids,
  SignedPresentation,
  StoreCredential,
  UserParams,
  UserPresentationRequest,
  WalletProblemResponses,
} from './schemas.js';
import type { UserDids } from './user-dids.js';

const NoContent = Type.Null({ description: 'Done; no body.' });
/** A stored credential is at most 64 KiB; its request envelope a little more. */
const CREDENTIAL_BODY_LIMIT = 80 * 1024;

/** The end user's DIDs and wallet: `/p/{projectId}/account/…`, with the identity session. */
export const walletAccountRoutes: FastifyPluginAsyncTypebox<{
  dids: UserDids;
  wallet: CredentialWallet;
  auth: SessionAuth;
  limiter: RateLimiter;
  rateLimit: RateLimitConfig;
}> = async (app, { dids, wallet, auth, limiter, rateLimit }) => {
  limitPerAddress(app, limiter, rateLimit, 'wallet');
  const tags = ['end-user wallet'];

  app.post(
    '/p/:projectId/account/dids/challenge',
    {
      schema: {
        tags,
        summary: 'A single-use DID Auth challenge (5 minutes) and the domain to sign for',
        params: ProjectParams,
        response: { 201: DidChallenge, ...WalletProblemResponses },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await dids.challenge(await auth.require(request, request.params.projectId))),
  );

  app.post(
    '/p/:projectId/account/dids',
    {
      schema: {
        tags,
        summary: 'Link a DID: prove one by DID Auth, or create a custodial did:key',
        params: ProjectParams,
        body: LinkDid,
        response: { 201: LinkedDid, ...WalletProblemResponses },
      },
    },
    async (request, reply) => {
      const session = await auth.require(request, request.params.projectId);
      const linked =
        'presentation' in request.body
          ? await dids.linkProven(session, request.body.presentation)
          : await dids.createCustodial(session);
      return reply.code(201).send(linked);
    },
  );

  app.get(
    '/p/:projectId/account/dids',
    {
      schema: {
        tags,
        summary: "The user's linked DIDs, the primary (first linked) first",
        params: ProjectParams,
        response: { 200: LinkedDids, ...WalletProblemResponses },
      },
    },
    async (request) => ({ items: await dids.list(await auth.require(request, request.params.projectId)) }),
  );

  app.delete(
    '/p/:projectId/account/dids/:did',
    {
      schema: {
        tags,
        summary: 'Unlink a DID (a custodial one’s key is retired)',
        params: DidParams,
        response: { 204: NoContent, ...WalletProblemResponses },
      },
    },
    async (request, reply) => {
      await dids.unlink(await auth.require(request, request.params.projectId), request.params.did);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/p/:projectId/account/presentations',
    {
      schema: {
        tags,
        summary: 'Sign a presentation as one of the user’s custodial DIDs',
        params: ProjectParams,
        body: UserPresentationRequest,
        response: { 200: SignedPresentation, ...WalletProblemResponses },
      },
      bodyLimit: 4 * CREDENTIAL_BODY_LIMIT,
    },
    async (request) => {
      const session = await auth.require(request, request.params.projectId);
      const { presentation, options } = request.body;
      return { verifiablePresentation: await dids.signPresentation(session, presentation, options) };
    },
  );

  app.post(
    '/p/:projectId/account/credentials',
    {
      schema: {
        tags,
        summary: 'Keep a credential about one of the user’s DIDs in their wallet',
        params: ProjectParams,
        body: StoreCredential,
        response: { 201: HeldCredential, ...WalletProblemResponses },
      },
      bodyLimit: CREDENTIAL_BODY_LIMIT,
    },
    async (request, reply) => {
      const session = await auth.require(request, request.params.projectId);
      return reply.code(201).send(await wallet.store(session, request.body.verifiableCredential));
    },
  );

  app.get(
    '/p/:projectId/account/credentials',
    {
      schema: {
        tags,
        summary: "The wallet's credentials (metadata only)",
        params: ProjectParams,
        response: { 200: HeldCredentials, ...WalletProblemResponses },
      },
    },
    async (request) => ({ items: await wallet.list(await auth.require(request, request.params.projectId)) }),
  );

  app.get(
    '/p/:projectId/account/credentials/:credentialId',
    {
      schema: {
        tags,
        summary: 'One credential of the wallet, with its contents',
        params: HeldCredentialParams,
        response: { 200: HeldCredentialWithContent, ...WalletProblemResponses },
      },
    },
    async (request) =>
      wallet.get(await auth.require(request, request.params.projectId), request.params.credentialId),
  );

  app.delete(
    '/p/:projectId/account/credentials/:credentialId',
    {
      schema: {
        tags,
        summary: 'Delete a credential from the wallet',
        params: HeldCredentialParams,
        response: { 204: NoContent, ...WalletProblemResponses },
      },
    },
    async (request, reply) => {
      await wallet.delete(await auth.require(request, request.params.projectId), request.params.credentialId);
      return reply.code(204).send(null);
    },
  );
};

/** The admin API of users' DIDs and wallets, for project API keys. */
export const walletAdminRoutes: FastifyPluginAsyncTypebox<{
  dids: UserDids;
  wallet: CredentialWallet;
}> = async (app, { dids, wallet }) => {
  const tags = ['users'];

  app.get(
    '/v1/projects/:projectId/users/:userId/dids',
    {
      schema: {
        tags,
        summary: "A user's linked DIDs",
        params: UserParams,
        response: { 200: LinkedDids, ...WalletProblemResponses },
      },
    },
    async (request) => ({
      items: await dids.listForUser(request.principal, request.params.projectId, request.params.userId),
    }),
  );

  app.post(
    '/v1/projects/:projectId/users/:userId/credentials',
    {
      schema: {
        tags,
        summary: "Issue a credential to one of a user's DIDs and keep it in their wallet",
        params: UserParams,
        body: IssueToUser,
        response: { 201: HeldCredential, ...WalletProblemResponses },
      },
      bodyLimit: CREDENTIAL_BODY_LIMIT,
    },
    async (request, reply) => {
      const { projectId, userId } = request.params;
      return reply.code(201).send(await wallet.issueTo(request.principal, projectId, userId, request.body));
    },
  );
};
