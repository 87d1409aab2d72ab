import type { IdentityRepo } from './repo.js';
import { DEFAULT_POLICY, type IdentityPolicyValue } from './schemas.js';

/** Each project's identity policy: the stored one, or the secure defaults. */
export class IdentityPolicies {
  constructor(private readonly repo: IdentityRepo) {}

  async get(projectId: string, repo: IdentityRepo = this.repo): Promise<IdentityPolicyValue> {
    const stored = await repo.getPolicy(projectId);
    // Policies stored before registrationVerifiesEmail or emailSignIn existed read them as false.
    return stored
      ? {
          registrationVerifiesEmail: false,
          emailSignIn: false,
          ...(JSON.parse(stored) as IdentityPolicyValue),
        }
      : DEFAULT_POLICY;
  }

  put(repo: IdentityRepo, projectId: string, policy: IdentityPolicyValue, at: string): Promise<void> {
    return repo.putPolicy(projectId, JSON.stringify(policy), at);
  }
}
