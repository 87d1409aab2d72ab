/** What a vault access decision is about and what it answers (the contract between vaults and policy). */

export const VAULT_ACTIONS = ['read', 'list', 'write', 'delete', 'admin'] as const;
export type VaultAction = (typeof VAULT_ACTIONS)[number];

export const MEMBER_ROLES = ['read', 'write', 'admin', 'owner'] as const;
/** The member's role in the current manifest; 'owner' is the vault's owner. */
export type MemberRole = (typeof MEMBER_ROLES)[number];

/** What the vaults service derives for one access. */
export interface AccessRequest {
  action: VaultAction;
  role: MemberRole;
  at: Date;
  device: { registered: boolean; fingerprintPresent: boolean };
  /** From http/geo.ts locate(ip); null: unknown, private or reserved address. */
  network: { country: string | null };
  /** RFC 8176 amr values, and seconds since the member authenticated. */
  authentication: { methods: string[]; ageSeconds: number };
  /** This member's accesses to this vault. */
  recent: { lastMinute: number; lastHour: number; deniedLastHour: number };
  /** Zero-knowledge context proofs; only verified ones count. */
  proofs: { verified: number; unverified: number };
  /** The vault has a recovery setup, so guardians can approve a denied access. */
  guardiansAvailable: boolean;
}

/** One signal's share of the score. */
export interface Contribution {
  signal: string;
  points: number;
  detail: string;
}

export const EVALUATORS = ['strict', 'permissive', 'neutral', 'watchdog'] as const;
export type EvaluatorName = (typeof EVALUATORS)[number];

export interface Vote {
  evaluator: EvaluatorName;
  vote: 'allow' | 'deny' | 'abstain';
  reasons: string[];
}

export type DecisionRuleKind = 'majority' | 'unanimous' | 'any';

export interface AccessDecision {
  outcome: 'allow' | 'deny' | 'step_up_required' | 'guardian_approval_required';
  /** 0..100. */
  score: number;
  /** Every point explained: the points add up to the score. */
  contributions: Contribution[];
  /** Always four, in the order of EVALUATORS. */
  votes: Vote[];
  rule: { kind: DecisionRuleKind; watchdogVeto: boolean; explanation: string };
  /** b64u SHA-256 of the normalized template's canonical JSON. */
  templateHash: string;
}
