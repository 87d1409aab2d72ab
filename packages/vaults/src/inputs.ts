import { canonicalJson, labelled } from './encoding.js';

/*
 * The bytes each kind of signature or sealed share is bound to. Each starts with its own label, and the
 * signing domain (keys.ts) is prefixed again when signing, so no signed or sealed thing can stand in for
 * another.
 */

/** What a member signs (domain 'session') to open a session: proof that it holds its keys right now. */
export function sessionProofInput(p: {
  projectId: string;
  vaultId: string;
  subject: string;
  keyId: string;
  issuedAt: string;
  nonce: string;
}): Uint8Array {
  return labelled(
    'persona-vault/v1 session',
    p.projectId,
    p.vaultId,
    p.subject,
    p.keyId,
    p.issuedAt,
    p.nonce,
  );
}

/** The AAD a recovery split's shares are sealed under (splitSecretToRecipients adds its own label). */
export function recoveryShareAad(vaultId: string, setupId: string): Uint8Array {
  return labelled('persona-vault/v1 recovery share', vaultId, setupId);
}

/** The AAD a guardian re-seals its share under, to the requester's ephemeral key. */
export function resealedShareAad(vaultId: string, requestId: string, guardian: string): Uint8Array {
  return labelled('persona-vault/v1 resealed share', vaultId, requestId, guardian);
}

/** What a guardian signs (domain 'recovery-approval') when it releases its share to a recovery request. */
export function recoveryApprovalInput(p: {
  vaultId: string;
  requestId: string;
  guardian: string;
  resealedShareHash: string;
}): Uint8Array {
  return canonicalJson({ type: 'recovery-approval', ...p });
}

/** What a guardian signs (domain 'access-approval') to let a member through a denied access. */
export function accessApprovalInput(p: {
  vaultId: string;
  approvalId: string;
  guardian: string;
  subject: string;
  action: string;
}): Uint8Array {
  return canonicalJson({ type: 'access-approval', ...p });
}
