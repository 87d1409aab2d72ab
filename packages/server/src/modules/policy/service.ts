import { readFileSync } from 'node:fs';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { Problem } from '../../http/problem.js';
import { type Action, epochSeconds, type Grant, type Principal, type Resource, rankOf } from './model.js';

type EntityUid = { type: string; id: string };
type Entity = { uid: EntityUid; attrs: Record<string, cedar.CedarValueJson>; parents: EntityUid[] };

const POLICY_DIR = new URL('../../../policies/', import.meta.url);
const POLICY_SET_ID = 'persona-tenancy';
const SCHEMA_NAME = 'persona';
const NS = 'Persona';

export type Decision = 'allow' | 'forbidden' | 'hidden';

/**
 * A Cedar evaluation through the wasm boundary costs ~150–200 µs, too slow for every request. A decision
 * is a pure function of its complete input while the policies are fixed (they load once per process),
 * so decisions are memoized by that whole input; authentication (revocation, expiry) is never cached.
 */
const DECISION_CACHE_SIZE = 10_000;
const PER_PRINCIPAL_CACHE_SIZE = 1_000;

/**
 * The platform's single authorization point. Every route asks it before acting; roles, scopes and
 * tenant boundaries live in Cedar policies (packages/server/policies), not in route code.
 */
export class PolicyService {
  private readonly decisions = new Map<string, boolean>();
  /**
   * The same decisions by principal object: authenticated principals are cached objects (embedded
   * database), so most requests find their decision here without building and hashing the full key.
   */
  private readonly byPrincipal = new WeakMap<Principal, Map<string, boolean>>();
  /**
   * Requests without a grant, by principal object, action and resource id: no key string is built at all.
   * A resource id names one resource of one type forever, and its parents (organization, project) never
   * change, so the id stands for the whole resource.
   */
  private readonly plainByPrincipal = new WeakMap<Principal, Map<string, Map<string, boolean>>>();

  private constructor() {}

  /** Parses and type-checks the policies against the schema once; fails the start if they are wrong. */
  static load(): PolicyService {
    const schema = readFileSync(new URL('schema.cedarschema', POLICY_DIR), 'utf8');
    const policies = readFileSync(new URL('tenancy.cedar', POLICY_DIR), 'utf8');
    const validation = cedar.validate({
      schema,
      policies: { staticPolicies: policies },
      validationSettings: { mode: 'strict' },
    });
    if (validation.type === 'failure') throw new Error(`Cedar: ${messages(validation.errors)}`);
    if (validation.validationErrors.length > 0) {
      throw new Error(
        `Cedar policies do not match the schema: ${messages(validation.validationErrors.map((e) => e.error))}`,
      );
    }
    check(cedar.preparseSchema(SCHEMA_NAME, schema));
    check(cedar.preparsePolicySet(POLICY_SET_ID, { staticPolicies: policies }));
    return new PolicyService();
  }

  decide(principal: Principal, action: Action, resource: Resource, grant: Grant = {}): Decision {
    if (this.evaluate(principal, action, resource, grant)) return 'allow';
    // The platform itself is no secret: a denied platform action is plainly forbidden.
    if (resource.type === 'Platform') return 'forbidden';
    if (action !== 'see' && this.evaluate(principal, 'see', resource, {})) return 'forbidden';
    return 'hidden';
  }

  /** Throws 404 when the caller may not know the resource exists, 403 when it may but is not allowed. */
  enforce(principal: Principal, action: Action, resource: Resource, grant: Grant = {}): void {
    const decision = this.decide(principal, action, resource, grant);
    if (decision === 'allow') return;
    if (decision === 'forbidden') {
      throw new Problem(
        'forbidden',
        `This API key may not perform ${action} here (its role or scopes do not allow it).`,
      );
    }
    throw new Problem('not-found', notFoundDetail(resource));
  }

  /** Whether the caller may do this, without raising. */
  allows(principal: Principal, action: Action, resource: Resource, grant: Grant = {}): boolean {
    return this.evaluate(principal, action, resource, grant);
  }

  private evaluate(principal: Principal, action: Action, resource: Resource, grant: Grant): boolean {
    const plain = isEmptyGrant(grant) && resource.type !== 'Platform';
    if (plain) {
      const known = this.plainByPrincipal.get(principal)?.get(action)?.get(resource.id);
      if (known !== undefined) return known;
    }
    const allowed = this.evaluateByKey(principal, action, resource, grant);
    if (plain) this.rememberPlain(principal, action, resource.id, allowed);
    return allowed;
  }

  private rememberPlain(principal: Principal, action: Action, resourceId: string, allowed: boolean): void {
    let byAction = this.plainByPrincipal.get(principal);
    if (!byAction) {
      byAction = new Map();
      this.plainByPrincipal.set(principal, byAction);
    }
    let byResource = byAction.get(action);
    if (!byResource) {
      byResource = new Map();
      byAction.set(action, byResource);
    }
    remember(byResource, resourceId, allowed, PER_PRINCIPAL_CACHE_SIZE);
  }

  private evaluateByKey(principal: Principal, action: Action, resource: Resource, grant: Grant): boolean {
    const request = requestKey(action, resource, grant);
    let own = this.byPrincipal.get(principal);
    const known = own?.get(request);
    if (known !== undefined) return known;

    const key = `${principalKey(principal)}\n${request}`;
    let allowed = this.decisions.get(key);
    if (allowed === undefined) {
      allowed = this.evaluateWithCedar(principal, action, resource, grant);
      remember(this.decisions, key, allowed, DECISION_CACHE_SIZE);
    }
    if (!own) {
      own = new Map();
      this.byPrincipal.set(principal, own);
    }
    remember(own, request, allowed, PER_PRINCIPAL_CACHE_SIZE);
    return allowed;
  }

  private evaluateWithCedar(principal: Principal, action: Action, resource: Resource, grant: Grant): boolean {
    const context: Record<string, cedar.CedarValueJson> = { scope: action };
    if (grant.grantedRole) context.grantedRank = rankOf(grant.grantedRole);
    if (grant.grantedScopes) context.grantedScopes = grant.grantedScopes;
    if (grant.currentRole) context.currentRank = rankOf(grant.currentRole);
    if (grant.createdKeyExpiresAt !== undefined)
      context.createdKeyExpiresAt = epochSeconds(grant.createdKeyExpiresAt);

    const answer = cedar.statefulIsAuthorized({
      principal: principalUid(principal),
      action: { type: `${NS}::Action`, id: action },
      resource: resourceUid(resource),
      context,
      entities: [...principalEntities(principal), ...resourceEntities(resource)],
      preparsedPolicySetId: POLICY_SET_ID,
      preparsedSchemaName: SCHEMA_NAME,
      validateRequest: true,
    });
    if (answer.type === 'failure') throw new Error(`Cedar: ${messages(answer.errors)}`);
    if (answer.response.diagnostics.errors.length > 0) {
      // A policy that errors is skipped by Cedar; that is a bug in our policies, so surface it.
      throw new Error(`Cedar policy error: ${JSON.stringify(answer.response.diagnostics.errors)}`);
    }
    return answer.response.decision === 'allow';
  }
}

function isEmptyGrant(grant: Grant): boolean {
  return (
    grant.grantedRole === undefined &&
    grant.grantedScopes === undefined &&
    grant.currentRole === undefined &&
    grant.createdKeyExpiresAt === undefined
  );
}

/** Map insertion order is age order: past the capacity, the oldest entry goes. */
function remember(cache: Map<string, boolean>, key: string, value: boolean, capacity: number): void {
  if (cache.size >= capacity) cache.delete(cache.keys().next().value as string);
  cache.set(key, value);
}

/**
 * Every input of a decision, in two parts: who asks, and what for. Joined by separators no id, role or
 * scope can contain.
 */
function principalKey(principal: Principal): string {
  return principal.kind === 'platform'
    ? `platform:${principal.keyId}:${principal.expiresAt}`
    : `${principal.keyId}:${principal.role}:${principal.scopes.join(',')}:${principal.projectId}:${principal.orgId}:${principal.expiresAt}`;
}

function requestKey(action: Action, resource: Resource, grant: Grant): string {
  let what: string = resource.type;
  if (resource.type !== 'Platform') what += `:${resource.id}`;
  if ('orgId' in resource) what += `:${resource.orgId}`;
  if ('projectId' in resource) what += `:${resource.projectId}`;
  return `${action}\n${what}\n${grant.grantedRole ?? ''}\n${grant.grantedScopes?.join(',') ?? ''}\n${grant.currentRole ?? ''}\n${grant.createdKeyExpiresAt}`;
}

function principalUid(principal: Principal): EntityUid {
  return principal.kind === 'platform'
    ? { type: `${NS}::PlatformAdmin`, id: principal.keyId }
    : { type: `${NS}::ApiKey`, id: principal.keyId };
}

function principalEntities(principal: Principal): Entity[] {
  const expiry: Record<string, cedar.CedarValueJson> =
    principal.expiresAt === null ? {} : { expiresAt: epochSeconds(principal.expiresAt) };
  if (principal.kind === 'platform') return [{ uid: principalUid(principal), attrs: expiry, parents: [] }];
  const org = { type: `${NS}::Organization`, id: principal.orgId };
  const project = { type: `${NS}::Project`, id: principal.projectId };
  return [
    {
      uid: principalUid(principal),
      attrs: {
        role: principal.role,
        rank: rankOf(principal.role),
        scopes: principal.scopes,
        org: { __entity: org },
        project: { __entity: project },
        ...expiry,
      },
      parents: [project],
    },
    { uid: project, attrs: {}, parents: [org] },
    { uid: org, attrs: {}, parents: [] },
  ];
}

function resourceUid(resource: Resource): EntityUid {
  return { type: `${NS}::${resource.type}`, id: resource.type === 'Platform' ? 'platform' : resource.id };
}

/** The resource and its ancestors, so `resource in principal.org` can be decided. */
function resourceEntities(resource: Resource): Entity[] {
  const uid = resourceUid(resource);
  switch (resource.type) {
    case 'Platform':
    case 'Organization':
      return [{ uid, attrs: {}, parents: [] }];
    case 'Project':
    case 'Member': {
      const org = { type: `${NS}::Organization`, id: resource.orgId };
      return [
        { uid, attrs: {}, parents: [org] },
        { uid: org, attrs: {}, parents: [] },
      ];
    }
    case 'Key': {
      const org = { type: `${NS}::Organization`, id: resource.orgId };
      const project = { type: `${NS}::Project`, id: resource.projectId };
      return [
        { uid, attrs: {}, parents: [project] },
        { uid: project, attrs: {}, parents: [org] },
        { uid: org, attrs: {}, parents: [] },
      ];
    }
  }
}

function notFoundDetail(resource: Resource): string {
  const noun = {
    Platform: 'resource',
    Organization: 'organization',
    Project: 'project',
    Member: 'member',
    Key: 'API key',
  }[resource.type];
  return resource.type === 'Platform' ? 'Not found.' : `No ${noun} ${resource.id}.`;
}

function check(answer: cedar.CheckParseAnswer): void {
  if (answer.type === 'failure') throw new Error(`Cedar: ${messages(answer.errors)}`);
}

function messages(errors: Array<{ message: string }>): string {
  return errors.map((error) => error.message).join('; ');
}
