import { Problem } from '../../http/problem.js';

/** Where a verification session is; see the diagram in docs/kyc.md. */
export const SESSION_STATUSES = [
  'created',
  'awaiting_input',
  'submitted',
  'processing',
  'approved',
  'declined',
  'needs_review',
  'resubmission_requested',
  'expired',
  'canceled',
  'error',
] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/**
 * Who moves a session: the end user's capture client (client token), the project through the API
 * (tenant), a provider's answer, the platform's own rules (policy: e.g. a failed connector check), a
 * reviewer, or the platform's clock and dispatcher (system).
 */
export type Actor = 'client' | 'tenant' | 'provider' | 'policy' | 'reviewer' | 'system';

interface Transition {
  from: SessionStatus;
  to: SessionStatus;
  by: readonly Actor[];
}

/**
 * The one transition table. It decides which moves are legal and who may make them; the audit entry
 * (`verification.<to>`) and the webhook event (`verification.<to>`) of every move are named after its
 * target, so the three cannot drift apart.
 */
const TRANSITIONS: readonly Transition[] = [
  { from: 'created', to: 'awaiting_input', by: ['client'] },
  { from: 'created', to: 'canceled', by: ['tenant'] },
  { from: 'created', to: 'expired', by: ['system'] },
  { from: 'awaiting_input', to: 'submitted', by: ['client'] },
  { from: 'awaiting_input', to: 'canceled', by: ['tenant'] },
  { from: 'awaiting_input', to: 'expired', by: ['system'] },
  { from: 'submitted', to: 'processing', by: ['system'] },
  { from: 'processing', to: 'approved', by: ['provider', 'policy'] },
  { from: 'processing', to: 'declined', by: ['provider', 'policy'] },
  { from: 'processing', to: 'needs_review', by: ['provider', 'policy'] },
  { from: 'processing', to: 'resubmission_requested', by: ['provider', 'policy'] },
  { from: 'processing', to: 'expired', by: ['provider'] },
  { from: 'processing', to: 'error', by: ['system'] },
  { from: 'needs_review', to: 'approved', by: ['reviewer', 'provider'] },
  { from: 'needs_review', to: 'declined', by: ['reviewer', 'provider'] },
  { from: 'needs_review', to: 'resubmission_requested', by: ['reviewer', 'provider'] },
  { from: 'resubmission_requested', to: 'awaiting_input', by: ['client'] },
  { from: 'resubmission_requested', to: 'expired', by: ['system'] },
  { from: 'resubmission_requested', to: 'canceled', by: ['tenant'] },
  // Only as an explicit reversal (a reviewer's, or a provider's final decline after its approval); the
  // issued credential is revoked with it.
  { from: 'approved', to: 'declined', by: ['reviewer', 'provider'] },
];

const ALLOWED = new Map<string, readonly Actor[]>(
  TRANSITIONS.map((transition) => [`${transition.from}>${transition.to}`, transition.by]),
);

/** Decisions: nothing but an explicit reversal (approved → declined) moves a session out of them. */
export const TERMINAL: ReadonlySet<SessionStatus> = new Set([
  'approved',
  'declined',
  'expired',
  'canceled',
  'error',
]);

export function canTransition(from: SessionStatus, to: SessionStatus, actor: Actor): boolean {
  return ALLOWED.get(`${from}>${to}`)?.includes(actor) ?? false;
}

/** Throws the 409 every illegal move answers with, naming the moves the session allows. */
export function assertTransition(from: SessionStatus, to: SessionStatus, actor: Actor): void {
  if (canTransition(from, to, actor)) return;
  const next = TRANSITIONS.filter((t) => t.from === from && t.by.includes(actor)).map((t) => t.to);
  throw new Problem(
    'conflict',
    `A verification session that is ${from} cannot become ${to} (by ${actor}). ` +
      (next.length > 0 ? `It can become: ${next.join(', ')}.` : 'Nothing can move it now.'),
  );
}

/** The audit entry type and the webhook event type of a move: both named after where it leads. */
export function eventTypeOf(to: SessionStatus): `verification.${SessionStatus}` {
  return `verification.${to}`;
}

/** Every legal move, for docs and tests. */
export function transitions(): readonly Transition[] {
  return TRANSITIONS;
}
