import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  envelopeKeyId,
  fromBase64Url,
  inspectEnvelope,
  openSealedShare,
  randomBytes,
  sealEnvelope,
  splitSecretToRecipients,
  toBase64Url,
} from '@personachain/crypto';
import {
  accessApprovalInput,
  contentHash,
  genesisManifest,
  MemberKeys,
  manifestHash,
  newItemId,
  newVaultId,
  openItem,
  recoveryApprovalInput,
  recoveryShareAad,
  resealedShareAad,
  type SignedManifest,
  sealItem,
  sessionProofInput,
  signManifest,
} from '@personachain/vaults';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPersonaApi } from '../../sdk/src/client.js';
import {
  approveAccess,
  approveRecovery,
  cancelRecovery,
  completeRecovery,
  RecoveryError,
  recoveryRequest,
  recoverySetup,
  requestRecovery,
  setupRecovery,
} from '../../sdk/src/vault/recovery.js';
import {
  createTenant,
  PG_URL,
  skipReason,
  startTestServer,
  type Tenant,
  type TestServer,
} from './helpers.js';

/*
 * Guardian recovery and guardian access approvals end to end: the SDK's recovery functions (all share
 * cryptography in the client) against the real server, plus raw HTTP where a test plays a hostile client.
 */

const encoder = new TextEncoder();
const subject = () => `usr_${Buffer.from(randomBytes(16)).toString('hex')}`;

/**
 * Test vaults score high enough that a member with MFA and no device passes (base 90) and admin acts are
 * not vetoed off hours, so results do not depend on when the suite runs.
 */
const RELAXED = {
  signals: { base: 90 },
  minimumScore: { admin: 0, delete: 0 },
  evaluators: { watchdog: { offHoursActions: [] } },
};
/** Reads and lists need a score no request reaches here: only guardians let them through. */
const GUARDED = {
  ...RELAXED,
  minimumScore: { read: 100, list: 100, admin: 0, delete: 0 },
  onDeny: { stepUp: false, guardianApproval: true },
};

interface Member {
  subject: string;
  keys: MemberKeys;
}

interface TestVault {
  id: string;
  owner: Member;
  manifest: SignedManifest;
  /** The owner's session token. */
  session: string;
  items: Map<string, string>;
}

let server: TestServer;
let tenant: Tenant;
let other: Tenant;
let guardians: Member[];

beforeAll(async () => {
  guardians = await Promise.all(
    [0, 1, 2, 3].map(async () => ({ subject: subject(), keys: await MemberKeys.generate() })),
  );
});

/** Stops the current server and keeps its files, to read the database the way an attacker with disk access would. */
let stopServer: () => Promise<void>;

/** A server with two tenants for the describe block it is called in. */
function useServer(engine: 'sqlite' | 'postgres' = 'sqlite'): void {
  let closed = false;
  beforeAll(async () => {
    server = await startTestServer({}, engine);
    tenant = await createTenant(server, 'Recovery Co');
    other = await createTenant(server, 'Other Co');
    closed = false;
    stopServer = async () => {
      closed = true;
      await server.close({ keepData: true });
    };
  });
  afterAll(async () => {
    if (closed) rmSync(server.dataDir, { recursive: true, force: true });
    else await server?.close();
  });
}

afterEach(() => {
  vi.useRealTimers();
});

const api = (key = tenant.keys.developer) => createPersonaApi({ baseUrl: server.url, apiKey: key });
const vaultPath = (vaultId: string, projectId = tenant.projectId) =>
  `/v1/projects/${projectId}/vaults/${vaultId}`;
const target = (vault: TestVault) => ({ api: api(), projectId: tenant.projectId, vaultId: vault.id });
const owner = (vault: TestVault) => ({ ...target(vault), keys: vault.owner.keys, session: vault.session });
const publicGuardians = (members: Member[]) =>
  members.map((member) => ({ subject: member.subject, publicKeys: member.keys.publicKeys }));

async function openSession(vaultId: string, member: Member): Promise<string> {
  const issuedAt = new Date().toISOString();
  const nonce = toBase64Url(randomBytes(32));
  const signature = await member.keys.sign(
    'session',
    sessionProofInput({
      projectId: tenant.projectId,
      vaultId,
      subject: member.subject,
      keyId: member.keys.keyId,
      issuedAt,
      nonce,
    }),
  );
  const answer = await server.json('POST', `${vaultPath(vaultId)}/sessions`, {
    key: tenant.keys.developer,
    body: {
      subject: member.subject,
      keyId: member.keys.keyId,
      issuedAt,
      nonce,
      signature,
      context: { authentication: { methods: ['pwd', 'otp', 'mfa'], authenticatedAt: issuedAt } },
    },
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer.body.token;
}

/** A vault with one item written by its owner, who has a live session. */
async function createVault(text = 'the owner’s secret'): Promise<TestVault> {
  const member = { subject: subject(), keys: await MemberKeys.generate() };
  const id = newVaultId();
  const genesis = await genesisManifest({ vaultId: id, owner: member.subject, ownerKeys: member.keys });
  const created = await server.json('POST', `/v1/projects/${tenant.projectId}/vaults`, {
    key: tenant.keys.admin,
    body: {
      id,
      owner: { subject: member.subject, publicKeys: member.keys.publicKeys },
      manifest: genesis,
      template: RELAXED,
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const vault: TestVault = {
    id,
    owner: member,
    manifest: genesis,
    session: await openSession(id, member),
    items: new Map(),
  };
  await writeItem(vault, text);
  return vault;
}

async function writeItem(vault: TestVault, text: string): Promise<string> {
  const itemId = newItemId();
  const { keys } = vault.owner;
  const sealed = await sealItem({
    vaultId: vault.id,
    itemId,
    version: 1,
    plaintext: encoder.encode(text),
    recipients: [{ keyId: keys.keyId, keys: keys.publicKeys }],
  });
  const previous = vault.manifest;
  const next = await signManifest(
    {
      v: 1,
      vaultId: vault.id,
      sequence: previous.sequence + 1,
      previous: manifestHash(previous),
      owner: previous.owner,
      members: previous.members,
      items: [
        ...previous.items,
        { id: itemId, version: 1, contentHash: sealed.contentHash, keyIds: [keys.keyId] },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
      signer: { subject: vault.owner.subject, keyId: keys.keyId },
      issuedAt: new Date().toISOString(),
    },
    keys,
  );
  const committed = await server.json('POST', `${vaultPath(vault.id)}/commits`, {
    key: tenant.keys.developer,
    headers: { 'persona-vault-session': vault.session },
    body: {
      manifest: next,
      writes: [
        {
          itemId,
          version: 1,
          ciphertext: toBase64Url(sealed.ciphertext),
          sealedKeys: sealed.sealedKeys.map((key) => ({
            keyId: key.keyId,
            sealedKey: toBase64Url(key.sealedKey),
          })),
        },
      ],
    },
  });
  expect(committed.status, JSON.stringify(committed.body)).toBe(200);
  vault.manifest = next;
  vault.items.set(itemId, text);
  return itemId;
}

/** Reads an item as `member` and opens it: what a member with those keys can actually decrypt. */
async function readItem(
  vault: TestVault,
  member: Member,
  itemId: string,
  headers: Record<string, string> = {},
) {
  const session = await openSession(vault.id, member);
  return readWith(vault, member, itemId, { 'persona-vault-session': session, ...headers });
}

async function readWith(vault: TestVault, member: Member, itemId: string, headers: Record<string, string>) {
  const answer = await server.json('GET', `${vaultPath(vault.id)}/items/${itemId}`, {
    key: tenant.keys.developer,
    headers,
  });
  if (answer.status !== 200) return { status: answer.status, body: answer.body, text: null };
  const plaintext = await openItem({
    vaultId: vault.id,
    itemId,
    version: answer.body.version,
    ciphertext: fromBase64Url(answer.body.ciphertext),
    sealedKey: fromBase64Url(answer.body.sealedKey),
    member: member.keys,
  });
  return { status: 200, body: answer.body, text: new TextDecoder().decode(plaintext) };
}

/** 3-of-4: two shares rebuild a wrong key (refused by its key id), three rebuild the owner's, which read. */
async function recoversWithThreshold(): Promise<void> {
  const vault = await createVault('recover me');
  const setup = await setupRecovery(owner(vault), {
    threshold: 3,
    guardians: publicGuardians(guardians),
  });
  expect(setup).toMatchObject({ threshold: 3 });
  expect(setup.guardians).toEqual(
    guardians.map((guardian) => ({ subject: guardian.subject, keyId: guardian.keys.keyId })),
  );
  const shown = await server.json('GET', `${vaultPath(vault.id)}/recovery`, { key: tenant.keys.auditor });
  expect(shown.status).toBe(200);
  expect(shown.body).toEqual(setup);
  expect(JSON.stringify(shown.body)).not.toContain('sealedShare');

  // A new device: the owner lost its keys and has only the application (API key).
  const { request, ephemeral } = await requestRecovery(target(vault));
  expect(request).toMatchObject({ status: 'pending', threshold: 3, approvals: [] });
  expect(request.ephemeralKeyId).toBe(toBase64Url(envelopeKeyId('X-Wing', ephemeral.publicKey)));
  const [first, second, third] = guardians as [Member, Member, Member];
  for (const guardian of [first, second]) {
    await approveRecovery({
      ...target(vault),
      requestId: request.id,
      guardian,
      expectedEphemeralKeyId: request.ephemeralKeyId,
    });
  }
  expect((await recoveryRequest({ ...target(vault), requestId: request.id })).status).toBe('pending');

  // Two shares of a 3-of-4 split interpolate to some other seed: the keys it gives are not the owner's.
  const early = completeRecovery({
    ...target(vault),
    requestId: request.id,
    ephemeral,
    expectedKeyId: vault.owner.keys.keyId,
  });
  await expect(early).rejects.toThrow(RecoveryError);
  await expect(early).rejects.toThrow(/not enough valid shares/);
  const refused = await server.json(
    'POST',
    `${vaultPath(vault.id)}/recovery/requests/${request.id}/complete`,
    {
      key: tenant.keys.developer,
    },
  );
  expect(refused.status).toBe(409);

  const ready = await approveRecovery({ ...target(vault), requestId: request.id, guardian: third });
  expect(ready.status).toBe('ready');
  expect(ready.approvals.map((approval) => approval.guardian)).toEqual(
    [first, second, third].map((g) => g.subject),
  );

  const recovered = await completeRecovery({
    ...target(vault),
    requestId: request.id,
    ephemeral,
    expectedKeyId: vault.owner.keys.keyId,
  });
  expect(recovered.keyId).toBe(vault.owner.keys.keyId);
  expect(Buffer.from(recovered.seed).equals(Buffer.from(vault.owner.keys.seed))).toBe(true);
  const done = await recoveryRequest({ ...target(vault), requestId: request.id });
  expect(done.status).toBe('completed');
  // Nothing to relay any more: the re-sealed shares are gone.
  expect(done.approvals.every((approval) => approval.resealedShare === null)).toBe(true);

  const [itemId, text] = [...vault.items][0] as [string, string];
  const read = await readItem(vault, { subject: vault.owner.subject, keys: recovered }, itemId);
  expect(read.text).toBe(text);
}

/** Four guardians approving at once all count, and the request turns ready; of racing requests one opens. */
async function concurrentApprovals(): Promise<void> {
  const vault = await createVault();
  await setupRecovery(owner(vault), { threshold: 3, guardians: publicGuardians(guardians) });
  const { request } = await requestRecovery(target(vault));
  await Promise.all(
    guardians.map((guardian) => approveRecovery({ ...target(vault), requestId: request.id, guardian })),
  );
  const settled = await recoveryRequest({ ...target(vault), requestId: request.id });
  expect(settled.status).toBe('ready');
  expect(settled.approvals).toHaveLength(4);

  const racing = await createVault();
  await setupRecovery(owner(racing), { threshold: 2, guardians: publicGuardians(guardians.slice(0, 2)) });
  const results = await Promise.allSettled([0, 1, 2, 3].map(() => requestRecovery(target(racing))));
  expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
  for (const result of results) {
    if (result.status === 'rejected') expect(result.reason).toMatchObject({ status: 409 });
  }
}

describe('over HTTP', () => {
  useServer();

  describe('guardian recovery', () => {
    it(
      'M guardians rebuild the owner’s keys, which read the vault; M−1 rebuild nothing',
      recoversWithThreshold,
    );

    it('concurrent approvals and requests: each counted once, one open request', concurrentApprovals);

    it('refuses non-guardians, bad signatures, shares sealed to someone else, and a second approval', async () => {
      const vault = await createVault();
      const chosen = guardians.slice(0, 2) as [Member, Member];
      await setupRecovery(owner(vault), { threshold: 2, guardians: publicGuardians(chosen) });
      const { request } = await requestRecovery(target(vault));
      const requestPath = `${vaultPath(vault.id)}/recovery/requests/${request.id}`;
      const stranger = { subject: subject(), keys: await MemberKeys.generate() };

      const asStranger = await server.json('GET', `${requestPath}?guardian=${stranger.subject}`, {
        key: tenant.keys.auditor,
      });
      expect(asStranger.status).toBe(404);
      // A stranger's well-formed approval (its own keys, its own signature) is still no guardian's.
      await expect(
        approveRecovery({ ...target(vault), requestId: request.id, guardian: stranger }),
      ).rejects.toMatchObject({ status: 404 });

      const [guardian] = chosen;
      const view = await server.json('GET', `${requestPath}?guardian=${guardian.subject}`, {
        key: tenant.keys.auditor,
      });
      expect(view.status).toBe(200);
      const ephemeralKey = fromBase64Url(view.body.ephemeralKey);
      const share = await openSealedShare(guardian.keys.encryption, fromBase64Url(view.body.sealedShare), {
        aad: recoveryShareAad(vault.id, view.body.setupId),
      });
      const resealed = await sealEnvelope({ suite: 'X-Wing', publicKey: ephemeralKey }, share, {
        aad: resealedShareAad(vault.id, request.id, guardian.subject),
      });
      const input = recoveryApprovalInput({
        vaultId: vault.id,
        requestId: request.id,
        guardian: guardian.subject,
        resealedShareHash: contentHash(resealed),
      });
      const approve = (body: unknown) =>
        server.json('POST', `${requestPath}/approvals`, { key: tenant.keys.developer, body });

      // Posting as a stranger: 403.
      const strangerBody = {
        guardian: stranger.subject,
        resealedShare: toBase64Url(resealed),
        signature: await stranger.keys.sign('recovery-approval', input),
      };
      expect((await approve(strangerBody)).status).toBe(403);
      // The guardian's name with someone else's signature, or a signature for another purpose: 403.
      for (const signature of [
        await stranger.keys.sign('recovery-approval', input),
        await guardian.keys.sign('access-approval', input),
      ]) {
        const refused = await approve({
          guardian: guardian.subject,
          resealedShare: toBase64Url(resealed),
          signature,
        });
        expect(refused.status).toBe(403);
        expect(refused.body.detail).toMatch(/signature does not verify/);
      }
      // A share re-sealed to some other key than the request's: 400, before any signature is checked.
      const elsewhere = await sealEnvelope(
        { suite: 'X-Wing', publicKey: stranger.keys.encryption.publicKey },
        share,
        {
          aad: resealedShareAad(vault.id, request.id, guardian.subject),
        },
      );
      const misdirected = await approve({
        guardian: guardian.subject,
        resealedShare: toBase64Url(elsewhere),
        signature: await guardian.keys.sign('recovery-approval', input),
      });
      expect(misdirected.status).toBe(400);

      const good = {
        guardian: guardian.subject,
        resealedShare: toBase64Url(resealed),
        signature: await guardian.keys.sign('recovery-approval', input),
      };
      expect((await approve(good)).status).toBe(201);
      expect((await approve(good)).status).toBe(409);
      expect((await recoveryRequest({ ...target(vault), requestId: request.id })).approvals).toHaveLength(1);
    });

    it('checks the setup: shares sealed to their guardians, thresholds in range, the owner’s session only', async () => {
      const vault = await createVault();
      const chosen = guardians.slice(0, 3);
      const put = (
        body: unknown,
        headers: Record<string, string> = { 'persona-vault-session': vault.session },
      ) =>
        server.json('PUT', `${vaultPath(vault.id)}/recovery`, { key: tenant.keys.developer, headers, body });
      const setupId = `vrs_${Buffer.from(randomBytes(16)).toString('hex')}`;
      const shares = await splitSecretToRecipients(
        vault.owner.keys.seed,
        2,
        chosen.map((guardian) => ({
          suite: 'X-Wing' as const,
          publicKey: guardian.keys.encryption.publicKey,
        })),
        { aad: recoveryShareAad(vault.id, setupId) },
      );
      const body = (threshold: number, order = [0, 1, 2]) => ({
        setupId,
        threshold,
        guardians: chosen.map((guardian, i) => ({
          subject: guardian.subject,
          publicKeys: guardian.keys.publicKeys,
          sealedShare: toBase64Url(shares[order[i] as number] as Uint8Array),
        })),
      });

      expect((await put(body(2), {})).status).toBe(401);
      const swapped = await put(body(2, [1, 0, 2]));
      expect(swapped.status).toBe(400);
      expect(swapped.body.errors[0].pointer).toBe('#/guardians/0/sealedShare');
      expect((await put(body(4))).status).toBe(400);
      expect((await put(body(1))).status).toBe(400);
      const withOwner = body(2);
      (withOwner.guardians[2] as { subject: string }).subject = vault.owner.subject;
      expect((await put(withOwner)).status).toBe(400);
      expect(
        (await server.json('GET', `${vaultPath(vault.id)}/recovery`, { key: tenant.keys.auditor })).status,
      ).toBe(404);

      const ok = await put(body(2));
      expect(ok.status).toBe(200);
      // The same setup id again is refused: a replacement is a new split under a new id.
      expect((await put(body(2))).status).toBe(409);

      // A viewer key cannot relay for members.
      const viewer = await server.json('PUT', `${vaultPath(vault.id)}/recovery`, {
        key: tenant.keys.viewer,
        headers: { 'persona-vault-session': vault.session },
        body: body(2),
      });
      expect(viewer.status).toBe(403);
    });

    it('one open request per vault; the owner cancels a hostile one; a new setup cancels the open one', async () => {
      const vault = await createVault();
      await setupRecovery(owner(vault), { threshold: 2, guardians: publicGuardians(guardians.slice(0, 2)) });
      const hostile = await requestRecovery(target(vault));
      await expect(requestRecovery(target(vault))).rejects.toMatchObject({ status: 409 });

      // Only with the owner's session.
      const noSession = await server.json(
        'DELETE',
        `${vaultPath(vault.id)}/recovery/requests/${hostile.request.id}`,
        {
          key: tenant.keys.developer,
        },
      );
      expect(noSession.status).toBe(401);
      // The owner's application sees the open request on the setup, and cancels it.
      expect((await recoverySetup(target(vault))).openRequestId).toBe(hostile.request.id);
      await cancelRecovery({ ...owner(vault), requestId: hostile.request.id });
      expect((await recoverySetup(target(vault))).openRequestId).toBeNull();
      const canceled = await recoveryRequest({ ...target(vault), requestId: hostile.request.id });
      expect(canceled.status).toBe('canceled');
      await expect(
        approveRecovery({
          ...target(vault),
          requestId: hostile.request.id,
          guardian: guardians[0] as Member,
        }),
      ).rejects.toMatchObject({ status: 409 });

      const next = await requestRecovery(target(vault));
      expect(next.request.status).toBe('pending');
      await setupRecovery(owner(vault), { threshold: 2, guardians: publicGuardians(guardians.slice(1, 3)) });
      expect((await recoveryRequest({ ...target(vault), requestId: next.request.id })).status).toBe(
        'canceled',
      );

      const audit = await server.json('GET', `/v1/projects/${tenant.projectId}/audit?limit=100`, {
        key: tenant.keys.auditor,
      });
      const types = (audit.body.data as { type: string; subject: string }[])
        .filter((entry) => entry.subject === vault.id)
        .map((entry) => entry.type);
      expect(types).toEqual(
        expect.arrayContaining([
          'vault.recovery_configured',
          'vault.recovery_requested',
          'vault.recovery_canceled',
        ]),
      );
    });

    it('a request expires after 24 hours and frees the vault for a new one', async () => {
      const vault = await createVault();
      await setupRecovery(owner(vault), { threshold: 2, guardians: publicGuardians(guardians.slice(0, 2)) });
      const { request } = await requestRecovery(target(vault));
      await approveRecovery({ ...target(vault), requestId: request.id, guardian: guardians[0] as Member });

      vi.useFakeTimers({ toFake: ['Date'], now: Date.parse(request.expiresAt) + 1000 });
      await expect(
        approveRecovery({ ...target(vault), requestId: request.id, guardian: guardians[1] as Member }),
      ).rejects.toMatchObject({ status: 409 });
      const expired = await recoveryRequest({ ...target(vault), requestId: request.id });
      expect(expired.status).toBe('expired');
      expect(expired.approvals.map((approval) => approval.resealedShare)).toEqual([null]);
      expect((await requestRecovery(target(vault))).request.status).toBe('pending');
    });

    it('another project’s key sees no recovery of this vault', async () => {
      const vault = await createVault();
      await setupRecovery(owner(vault), { threshold: 2, guardians: publicGuardians(guardians.slice(0, 2)) });
      const { request } = await requestRecovery(target(vault));
      const foreign = { api: api(other.keys.owner), projectId: tenant.projectId, vaultId: vault.id };
      await expect(requestRecovery(foreign)).rejects.toMatchObject({ status: 404 });
      await expect(recoveryRequest({ ...foreign, requestId: request.id })).rejects.toMatchObject({
        status: 404,
      });
      await expect(
        approveRecovery({ ...foreign, requestId: request.id, guardian: guardians[0] as Member }),
      ).rejects.toMatchObject({ status: 404 });
      for (const [method, path] of [
        ['GET', `${vaultPath(vault.id)}/recovery`],
        ['GET', `${vaultPath(vault.id, other.projectId)}/recovery`],
        ['POST', `${vaultPath(vault.id)}/recovery/requests/${request.id}/complete`],
        ['GET', `${vaultPath(vault.id)}/access-approvals/vap_${'0'.repeat(32)}`],
      ] as const) {
        expect((await server.json(method, path, { key: other.keys.owner })).status).toBe(404);
      }
    });
  });

  describe('guardian access approvals', () => {
    it('guardians let a denied read through, for that member and action only, for ten minutes', async () => {
      const vault = await createVault('behind guardians');
      const [itemId, text] = [...vault.items][0] as [string, string];
      const chosen = guardians.slice(0, 3) as [Member, Member, Member];
      await setupRecovery(owner(vault), { threshold: 2, guardians: publicGuardians(chosen) });
      const template = await server.json('PUT', `${vaultPath(vault.id)}/trust-template`, {
        key: tenant.keys.admin,
        body: GUARDED,
      });
      expect(template.status, JSON.stringify(template.body)).toBe(200);

      const headers = { 'persona-vault-session': vault.session };
      const denied = await readWith(vault, vault.owner, itemId, headers);
      expect(denied.status).toBe(403);
      expect(denied.body.type).toBe('urn:personachain:problem:guardian-approval-required');
      const approvalId: string = denied.body.access.approvalId;
      expect(approvalId).toMatch(/^vap_[0-9a-f]{32}$/);
      // Retrying before guardians approved: still refused, and the same approval (not a new one per retry).
      const again = await readWith(vault, vault.owner, itemId, {
        ...headers,
        'persona-vault-approval': approvalId,
      });
      expect(again.status).toBe(403);
      expect(again.body.access.approvalId).toBe(approvalId);

      const shown = await server.json('GET', `${vaultPath(vault.id)}/access-approvals/${approvalId}`, {
        key: tenant.keys.auditor,
      });
      expect(shown.body).toMatchObject({
        subject: vault.owner.subject,
        action: 'read',
        status: 'pending',
        threshold: 2,
      });

      // A stranger and a bad signature are refused.
      const stranger = { subject: subject(), keys: await MemberKeys.generate() };
      await expect(approveAccess({ ...target(vault), approvalId, guardian: stranger })).rejects.toMatchObject(
        {
          status: 403,
        },
      );
      const wrongAction = await chosen[0].keys.sign(
        'access-approval',
        accessApprovalInput({
          vaultId: vault.id,
          approvalId,
          guardian: chosen[0].subject,
          subject: vault.owner.subject,
          action: 'delete',
        }),
      );
      const forged = await server.json(
        'POST',
        `${vaultPath(vault.id)}/access-approvals/${approvalId}/approvals`,
        {
          key: tenant.keys.developer,
          body: { guardian: chosen[0].subject, signature: wrongAction },
        },
      );
      expect(forged.status).toBe(403);

      expect((await approveAccess({ ...target(vault), approvalId, guardian: chosen[0] })).status).toBe(
        'pending',
      );
      const approved = await approveAccess({ ...target(vault), approvalId, guardian: chosen[1] });
      expect(approved).toMatchObject({
        status: 'approved',
        approvals: [chosen[0].subject, chosen[1].subject],
      });

      const allowed = await readWith(vault, vault.owner, itemId, {
        ...headers,
        'persona-vault-approval': approvalId,
      });
      expect(allowed.status).toBe(200);
      expect(allowed.text).toBe(text);
      expect(allowed.body.access.approvalId).toBe(approvalId);

      // Another action with the same approval: refused (and sent to guardians on its own).
      const list = await server.json('GET', `${vaultPath(vault.id)}/items`, {
        key: tenant.keys.developer,
        headers: { ...headers, 'persona-vault-approval': approvalId },
      });
      expect(list.status).toBe(403);
      expect(list.body.type).toBe('urn:personachain:problem:guardian-approval-required');
      expect(list.body.access.approvalId).not.toBe(approvalId);

      // Ten minutes after the approval it no longer opens anything.
      vi.useFakeTimers({ toFake: ['Date'], now: Date.parse(approved.validUntil as string) + 1000 });
      const session = await openSession(vault.id, vault.owner);
      const late = await readWith(vault, vault.owner, itemId, {
        'persona-vault-session': session,
        'persona-vault-approval': approvalId,
      });
      expect(late.status).toBe(403);
    });
  });
});

if (!PG_URL) skipReason('PERSONA_TEST_PG_URL', 'PostgreSQL');

describe.skipIf(!PG_URL)('on PostgreSQL', () => {
  useServer('postgres');

  it(
    'M guardians rebuild the owner’s keys, which read the vault; M−1 rebuild nothing',
    recoversWithThreshold,
  );

  it('concurrent approvals and requests: each counted once, one open request', concurrentApprovals);
});

describe('what the server stores', () => {
  useServer();

  it('sealed shares only: no opened share and no seed on disk, and nothing of a shredded vault’s recovery', async () => {
    const vault = await createVault();
    const chosen = guardians.slice(0, 3);
    const setup = await setupRecovery(owner(vault), { threshold: 2, guardians: publicGuardians(chosen) });
    const { request, ephemeral } = await requestRecovery(target(vault));
    await approveRecovery({ ...target(vault), requestId: request.id, guardian: chosen[0] as Member });
    await approveRecovery({ ...target(vault), requestId: request.id, guardian: chosen[1] as Member });

    const shredded = await createVault();
    await setupRecovery(owner(shredded), { threshold: 2, guardians: publicGuardians(chosen) });
    const doomed = await requestRecovery(target(shredded));
    await approveRecovery({
      ...target(shredded),
      requestId: doomed.request.id,
      guardian: chosen[0] as Member,
    });
    const shred = await server.json('DELETE', vaultPath(shredded.id), {
      key: tenant.keys.developer,
      headers: { 'persona-vault-session': shredded.session },
    });
    expect(shred.status).toBe(204);
    expect(
      (await server.json('GET', `${vaultPath(shredded.id)}/recovery`, { key: tenant.keys.auditor })).status,
    ).toBe(410);

    await stopServer();
    const db = new Database(join(server.dataDir, 'persona.db'), { readonly: true, fileMustExist: true });
    let stored: { subject: string; sealed_share: Buffer }[];
    let resealed: { guardian: string; resealed_share: Buffer }[];
    let leftOfShredded: number;
    try {
      stored = db
        .prepare(
          'select subject, sealed_share from vault_recovery_guardians where setup_id = ? order by position',
        )
        .all(setup.setupId) as typeof stored;
      resealed = db
        .prepare('select guardian, resealed_share from vault_recovery_approvals where request_id = ?')
        .all(request.id) as typeof resealed;
      leftOfShredded = (
        db
          .prepare(
            `select (select count(*) from vault_recovery_setups where vault_id = ?)
                  + (select count(*) from vault_recovery_requests where vault_id = ?)
                  + (select count(*) from vault_recovery_approvals where request_id = ?) as n`,
          )
          .get(shredded.id, shredded.id, doomed.request.id) as { n: number }
      ).n;
    } finally {
      db.close();
    }
    expect(leftOfShredded).toBe(0);
    expect(stored.map((row) => row.subject)).toEqual(chosen.map((guardian) => guardian.subject));
    expect(resealed).toHaveLength(2);

    // Each stored share is an X-Wing envelope addressed to its guardian; only that guardian opens it.
    const shares: Uint8Array[] = [];
    for (const [i, row] of stored.entries()) {
      const guardian = chosen[i] as Member;
      const info = inspectEnvelope(new Uint8Array(row.sealed_share));
      expect(info).toMatchObject({ type: 'single', suite: 'X-Wing' });
      expect(Buffer.from(info.recipientKeyIds[0] as Uint8Array)).toEqual(
        Buffer.from(envelopeKeyId('X-Wing', guardian.keys.encryption.publicKey)),
      );
      const aad = recoveryShareAad(vault.id, setup.setupId);
      const wrong = chosen[(i + 1) % chosen.length] as Member;
      await expect(
        openSealedShare(wrong.keys.encryption, new Uint8Array(row.sealed_share), { aad }),
      ).rejects.toThrow();
      shares.push(await openSealedShare(guardian.keys.encryption, new Uint8Array(row.sealed_share), { aad }));
    }
    for (const row of resealed) {
      const info = inspectEnvelope(new Uint8Array(row.resealed_share));
      expect(Buffer.from(info.recipientKeyIds[0] as Uint8Array)).toEqual(
        Buffer.from(envelopeKeyId('X-Wing', ephemeral.publicKey)),
      );
    }

    // The database's bytes (file and any write-ahead log) hold neither an opened share nor a seed.
    const files = ['persona.db', 'persona.db-wal']
      .map((name) => join(server.dataDir, name))
      .filter((file) => existsSync(file))
      .map((file) => readFileSync(file));
    expect(files.length).toBeGreaterThan(0);
    for (const secret of [...shares, vault.owner.keys.seed, shredded.owner.keys.seed]) {
      expect(secret.length).toBeGreaterThanOrEqual(32);
      for (const bytes of files) expect(bytes.indexOf(Buffer.from(secret))).toBe(-1);
    }
  });
});
