/** Bounds every vault document respects; servers enforce them, clients may rely on them. */
export const VAULT_LIMITS = {
  /** Members of one vault (each item version's data key is sealed to each reader). */
  maxMembers: 32,
  /** Live items of one vault: the signed manifest lists them all. */
  maxItems: 5000,
  /** Item writes in one commit (one manifest signature covers them). */
  maxWritesPerCommit: 64,
  /** Plaintext bytes of one item version. */
  maxItemBytes: 4 * 1024 * 1024,
  /** Characters of a subject (a `usr_…` id or a DID). */
  maxSubjectLength: 512,
} as const;
