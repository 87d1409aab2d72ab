import {
  combineShares,
  type EnvelopeKeyPair,
  envelopeKeyId,
  fromBase64Url,
  generateEnvelopeKeyPair,
  openEnvelope,
  openSealedShare,
  randomBytes,
  sealEnvelope,
  splitSecretToRecipients,
  toBase64Url,
  toHex,
} from '@personachain/crypto';
import {
  accessApprovalInput,
  contentHash,
  MemberKeys,
  type MemberPublicKeys,
  recoveryApprovalInput,
  recoveryShareAad,
  resealedShareAad,
} from '@personachain/vaults';
import { type PersonaApi, unwrap } from '../client.js';
import { PersonaApiError } from '../problem.js';
import { vaultApiError } from './errors.js';

/*
 * Guardian recovery on the client (contract §2.4). The owner's key seed is split with Shamir in the
 * owner's client and each share sealed to a guardian; a guardian opens its share in its own client and
 * re-seals it to the requester's ephemeral key; the requester combines the shares. The server only ever
 * relays envelopes.
 */

/** Which vault a recovery call is about. */
export interface RecoveryTarget {
  api: PersonaApi;
  projectId: string;
  vaultId: string;
}

/** The owner, with its keys and a live member session (e.g. a VaultClient's). */
export interface RecoveryOwner extends RecoveryTarget {
  keys: MemberKeys;
  /** The owner's member session token, or a function that returns a live one. */
  session: string | (() => Promise<string>);
}

/** A guardian: its subject and its keys (the ones the owner named in the setup). */
export interface Guardian {
  subject: string;
  keys: MemberKeys;
}

export interface RecoverySetup {
  setupId: string;
  threshold: number;
  guardians: { subject: string; keyId: string }[];
  createdAt: string;
  /** The pending or ready recovery request: if the owner did not make it, `cancelRecovery`. */
  openRequestId: string | null;
}

export type RecoveryStatus = 'pending' | 'ready' | 'completed' | 'canceled' | 'expired';

export interface RecoveryRequest {
  id: string;
  vaultId: string;
  setupId: string;
  status: RecoveryStatus;
  threshold: number;
  /** base64url of the ephemeral key's envelope key id: read it out to guardians to compare. */
  ephemeralKeyId: string;
  approvals: { guardian: string; resealedShare: string | null; createdAt: string }[];
  createdAt: string;
  expiresAt: string;
  endedAt: string | null;
}

export interface AccessApproval {
  id: string;
  vaultId: string;
  subject: string;
  action: string;
  status: 'pending' | 'approved' | 'expired';
  threshold: number;
  guardians: { subject: string; keyId: string }[];
  approvals: string[];
  createdAt: string;
  expiresAt: string;
  approvedAt: string | null;
  validUntil: string | null;
}

/** Fewer shares than the threshold, or wrong ones, rebuild a different key: recovery cannot finish. */
export class RecoveryError extends Error {
  override name = 'RecoveryError';
}

const path = (target: RecoveryTarget) => ({ projectId: target.projectId, vaultId: target.vaultId });

/** The answer's body; a refusal is a PersonaApiError (a VaultAccessError for an access decision). */
async function call<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  try {
    return await unwrap(request);
  } catch (error) {
    throw error instanceof PersonaApiError ? vaultApiError(error) : error;
  }
}

const sessionOf = async (owner: RecoveryOwner) =>
  typeof owner.session === 'string' ? owner.session : owner.session();

/**
 * Splits the owner's key seed `threshold`-of-N among `guardians`, each share sealed to the guardian's
 * encryption key in this client, and stores the setup (replacing the previous one, which cancels an open
 * recovery request). Needs the owner's session.
 */
export async function setupRecovery(
  owner: RecoveryOwner,
  options: { threshold: number; guardians: { subject: string; publicKeys: MemberPublicKeys }[] },
): Promise<RecoverySetup> {
  // Random: the shares' AAD binds this id, so shares of one split never pass for another's.
  const setupId = `vrs_${toHex(randomBytes(16))}`;
  const shares = await splitSecretToRecipients(
    owner.keys.seed,
    options.threshold,
    options.guardians.map((guardian) => ({
      suite: 'X-Wing' as const,
      publicKey: fromBase64Url(guardian.publicKeys.encryptionKey),
    })),
    { aad: recoveryShareAad(owner.vaultId, setupId) },
  );
  return call(
    owner.api.PUT('/v1/projects/{projectId}/vaults/{vaultId}/recovery', {
      params: { path: path(owner) },
      headers: { 'persona-vault-session': await sessionOf(owner) },
      body: {
        setupId,
        threshold: options.threshold,
        guardians: options.guardians.map((guardian, i) => ({
          subject: guardian.subject,
          publicKeys: guardian.publicKeys,
          sealedShare: toBase64Url(shares[i] as Uint8Array),
        })),
      },
    }),
  );
}

/** The vault's recovery setup (threshold and guardians; the shares stay on the server). */
export function recoverySetup(target: RecoveryTarget): Promise<RecoverySetup> {
  return call(
    target.api.GET('/v1/projects/{projectId}/vaults/{vaultId}/recovery', { params: { path: path(target) } }),
  );
}

/**
 * Starts recovery on a new device: a fresh X-Wing key pair, whose public key guardians re-seal their
 * shares to. Keep `ephemeral` in memory until `completeRecovery`; tell guardians `request.ephemeralKeyId`
 * over a channel they trust, so they approve this request and no other.
 */
export async function requestRecovery(
  target: RecoveryTarget,
): Promise<{ request: RecoveryRequest; ephemeral: EnvelopeKeyPair }> {
  const ephemeral = await generateEnvelopeKeyPair('X-Wing');
  const request: RecoveryRequest = await call(
    target.api.POST('/v1/projects/{projectId}/vaults/{vaultId}/recovery/requests', {
      params: { path: path(target) },
      body: { ephemeralKey: toBase64Url(ephemeral.publicKey) },
    }),
  );
  return { request, ephemeral };
}

export function recoveryRequest(target: RecoveryTarget & { requestId: string }): Promise<RecoveryRequest> {
  return call(
    target.api.GET('/v1/projects/{projectId}/vaults/{vaultId}/recovery/requests/{requestId}', {
      params: { path: { ...path(target), requestId: target.requestId } },
    }),
  );
}

/** The envelope key id of an X-Wing public key, as `ephemeralKeyId` shows it. */
export function ephemeralKeyIdOf(publicKey: Uint8Array): string {
  return toBase64Url(envelopeKeyId('X-Wing', publicKey));
}

/**
 * A guardian approves a recovery request: fetches its sealed share, opens it with its keys, re-seals it
 * to the requester's ephemeral key and signs the approval. With `expectedEphemeralKeyId` (what the owner
 * told the guardian out of band) a request with another key is refused before anything is released.
 */
export async function approveRecovery(
  target: RecoveryTarget & { requestId: string; guardian: Guardian; expectedEphemeralKeyId?: string },
): Promise<RecoveryRequest> {
  const { guardian, requestId } = target;
  const answer: RecoveryRequest & { ephemeralKey?: string; sealedShare?: string } = await call(
    target.api.GET('/v1/projects/{projectId}/vaults/{vaultId}/recovery/requests/{requestId}', {
      params: { path: { ...path(target), requestId }, query: { guardian: guardian.subject } },
    }),
  );
  if (answer.ephemeralKey === undefined || answer.sealedShare === undefined) {
    throw new RecoveryError(`the server sent no share for guardian ${guardian.subject}`);
  }
  const ephemeralKey = fromBase64Url(answer.ephemeralKey);
  if (
    target.expectedEphemeralKeyId !== undefined &&
    ephemeralKeyIdOf(ephemeralKey) !== target.expectedEphemeralKeyId
  ) {
    throw new RecoveryError('the request’s ephemeral key is not the one the owner named: not approving');
  }
  const share = await openSealedShare(guardian.keys.encryption, fromBase64Url(answer.sealedShare), {
    aad: recoveryShareAad(target.vaultId, answer.setupId),
  });
  let resealed: Uint8Array;
  try {
    resealed = await sealEnvelope({ suite: 'X-Wing', publicKey: ephemeralKey }, share, {
      aad: resealedShareAad(target.vaultId, requestId, guardian.subject),
    });
  } finally {
    share.fill(0);
  }
  const signature = await guardian.keys.sign(
    'recovery-approval',
    recoveryApprovalInput({
      vaultId: target.vaultId,
      requestId,
      guardian: guardian.subject,
      resealedShareHash: contentHash(resealed),
    }),
  );
  return call(
    target.api.POST('/v1/projects/{projectId}/vaults/{vaultId}/recovery/requests/{requestId}/approvals', {
      params: { path: { ...path(target), requestId } },
      body: { guardian: guardian.subject, resealedShare: toBase64Url(resealed), signature },
    }),
  );
}

/** Combinations of `size` out of `count` indexes tried when some share is bad, at most this many. */
const MAX_COMBINATIONS = 64;

/**
 * Rebuilds the owner's keys from the guardians' re-sealed shares: opens each with the ephemeral key,
 * combines them, and accepts the result only when its key id is `expectedKeyId` (the owner's key id in
 * the vault's members), then completes the request. Too few or wrong shares: RecoveryError.
 */
export async function completeRecovery(
  target: RecoveryTarget & { requestId: string; ephemeral: EnvelopeKeyPair; expectedKeyId: string },
): Promise<MemberKeys> {
  const request = await recoveryRequest(target);
  const shares: Uint8Array[] = [];
  for (const approval of request.approvals) {
    if (approval.resealedShare === null) continue;
    try {
      shares.push(
        await openEnvelope(target.ephemeral, fromBase64Url(approval.resealedShare), {
          aad: resealedShareAad(target.vaultId, request.id, approval.guardian),
        }),
      );
    } catch {
      // Not sealed to this key or tampered with: it cannot count.
    }
  }
  try {
    const keys = await rebuild(shares, request.threshold, target.expectedKeyId);
    if (!keys) {
      throw new RecoveryError(
        `not enough valid shares: ${shares.length} opened, ${request.threshold} needed, and they do not ` +
          `rebuild key ${target.expectedKeyId}`,
      );
    }
    await call(
      target.api.POST('/v1/projects/{projectId}/vaults/{vaultId}/recovery/requests/{requestId}/complete', {
        params: { path: { ...path(target), requestId: request.id } },
      }),
    );
    return keys;
  } finally {
    for (const share of shares) share.fill(0);
  }
}

/** All shares first; when they do not agree, subsets of `threshold` (a bad share spoils any set it is in). */
async function rebuild(
  shares: Uint8Array[],
  threshold: number,
  expectedKeyId: string,
): Promise<MemberKeys | null> {
  if (shares.length < 2) return null;
  const attempts = [shares.map((_, i) => i)];
  if (shares.length > threshold) attempts.push(...combinations(shares.length, threshold, MAX_COMBINATIONS));
  for (const indexes of attempts) {
    const keys = await keysFrom(
      indexes.map((i) => shares[i] as Uint8Array),
      expectedKeyId,
    );
    if (keys) return keys;
  }
  return null;
}

async function keysFrom(shares: Uint8Array[], expectedKeyId: string): Promise<MemberKeys | null> {
  let seed: Uint8Array;
  try {
    seed = await combineShares(shares);
  } catch {
    return null;
  }
  try {
    const keys = await MemberKeys.fromSeed(seed);
    return keys.keyId === expectedKeyId ? keys : null;
  } catch {
    return null;
  } finally {
    seed.fill(0);
  }
}

function combinations(count: number, size: number, limit: number): number[][] {
  const out: number[][] = [];
  const pick = (start: number, chosen: number[]) => {
    if (out.length >= limit) return;
    if (chosen.length === size) {
      out.push([...chosen]);
      return;
    }
    for (let i = start; i < count; i++) pick(i + 1, [...chosen, i]);
  };
  pick(0, []);
  return out;
}

/** The real owner, with its session, cancels a recovery request it did not make. */
export async function cancelRecovery(owner: RecoveryOwner & { requestId: string }): Promise<void> {
  await call(
    owner.api.DELETE('/v1/projects/{projectId}/vaults/{vaultId}/recovery/requests/{requestId}', {
      params: { path: { ...path(owner), requestId: owner.requestId } },
      headers: { 'persona-vault-session': await sessionOf(owner) },
    }),
  );
}

/**
 * A guardian approves a denied access (the refusal's `access.approvalId`): it fetches the approval,
 * signs who asks for what, and posts the signature. Check `approval` (subject, action) before calling.
 */
export async function approveAccess(
  target: RecoveryTarget & { approvalId: string; guardian: Guardian },
): Promise<AccessApproval> {
  const params = { path: { ...path(target), approvalId: target.approvalId } };
  const approval: AccessApproval = await call(
    target.api.GET('/v1/projects/{projectId}/vaults/{vaultId}/access-approvals/{approvalId}', { params }),
  );
  const signature = await target.guardian.keys.sign(
    'access-approval',
    accessApprovalInput({
      vaultId: target.vaultId,
      approvalId: approval.id,
      guardian: target.guardian.subject,
      subject: approval.subject,
      action: approval.action,
    }),
  );
  return call(
    target.api.POST('/v1/projects/{projectId}/vaults/{vaultId}/access-approvals/{approvalId}/approvals', {
      params,
      body: { guardian: target.guardian.subject, signature },
    }),
  );
}
