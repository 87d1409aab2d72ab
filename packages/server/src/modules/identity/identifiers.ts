import { createHash } from 'node:crypto';

/** The form usernames and emails are compared in: NFKC, lower case, trimmed. */
export function normalizeIdentifier(value: string): string {
  return value.normalize('NFKC').trim().toLowerCase();
}

/** Which column an identifier typed at sign-in is looked up in. */
export function identifierColumn(normalized: string): 'email_normalized' | 'username_normalized' {
  return normalized.includes('@') ? 'email_normalized' : 'username_normalized';
}

/** What the audit trail keeps of a personal value: its hash, scoped to the project. */
export function auditHash(projectId: string, value: string | null): string | null {
  return value === null
    ? null
    : createHash('sha256')
        .update(`${projectId}\u0000${normalizeIdentifier(value)}`)
        .digest('hex');
}
