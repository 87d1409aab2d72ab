import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { hkdfSha256 } from '@personachain/crypto';
import type { Kysely } from 'kysely';
import type { Location } from '../../http/geo.js';
import { newId } from '../../ids.js';
import type { Database, IdentitySignInsTable } from '../../store/schema.js';

/** How many of a user's sign-ins adaptive MFA compares a new one with. */
export const HISTORY_LENGTH = 50;
/** Sign-ins older than this are forgotten. */
export const HISTORY_DAYS = 90;

const encoder = new TextEncoder();

/** A remembered sign-in as an admin sees it: no hashes, no coordinates. */
export interface SignInView {
  at: string;
  /** ISO 3166-1 alpha-2, or null when the address could not be located. */
  country: string | null;
  /** No earlier remembered sign-in of the user came from this browser. */
  newDevice: boolean;
  /** No earlier remembered sign-in of the user came from this address. */
  newAddress: boolean;
}

/** Describes sign-ins (newest first), each compared with the older ones in the same window. */
export function describeSignIns(rows: readonly IdentitySignInsTable[]): SignInView[] {
  return rows.map((row, index) => {
    const older = rows.slice(index + 1);
    return {
      at: row.at,
      country: row.country,
      newDevice: row.device_hash === null || !older.some((other) => other.device_hash === row.device_hash),
      newAddress: !older.some((other) => other.address_hash === row.address_hash),
    };
  });
}

/**
 * Each user's recent completed sign-ins, the memory adaptive MFA compares a new sign-in with. Addresses
 * and device ids are kept only as keyed hashes (HMAC under a key derived from the master key: the IPv4
 * space is small enough to brute-force a plain hash), locations only as the coarse point and country the
 * GeoLite data gives. Erased with the user.
 */
export class SignInHistory {
  private readonly hashKey: KeyObject;

  constructor(
    private readonly db: Kysely<Database>,
    masterKey: Uint8Array,
    private readonly now: () => Date,
  ) {
    this.hashKey = createSecretKey(
      hkdfSha256(masterKey, undefined, encoder.encode('personachain identity sign-in history v1'), 32),
    );
  }

  private hash(kind: string, projectId: string, value: string): string {
    return createHmac('sha256', this.hashKey).update(`${kind}\u0000${projectId}\u0000${value}`).digest('hex');
  }

  addressHash(projectId: string, ip: string): string {
    return this.hash('address', projectId, ip);
  }

  deviceHash(projectId: string, deviceId: string): string {
    return this.hash('device', projectId, deviceId);
  }

  /** The user's remembered sign-ins, newest first. */
  recent(projectId: string, userId: string): Promise<IdentitySignInsTable[]> {
    const since = new Date(this.now().getTime() - HISTORY_DAYS * 86_400_000).toISOString();
    return this.db
      .selectFrom('identity_sign_ins')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('at', '>=', since)
      .orderBy('at', 'desc')
      .limit(HISTORY_LENGTH)
      .execute();
  }

  /** Remembers a completed sign-in and forgets what falls out of the window. */
  async record(
    projectId: string,
    userId: string,
    signIn: { ip: string; deviceId: string | null; location: Location | null },
  ): Promise<void> {
    const at = this.now();
    await this.db
      .insertInto('identity_sign_ins')
      .values({
        id: newId('sgn'),
        project_id: projectId,
        user_id: userId,
        at: at.toISOString(),
        address_hash: this.addressHash(projectId, signIn.ip),
        device_hash: signIn.deviceId === null ? null : this.deviceHash(projectId, signIn.deviceId),
        country: signIn.location?.country ?? null,
        latitude: signIn.location?.latitude ?? null,
        longitude: signIn.location?.longitude ?? null,
        accuracy_km: signIn.location?.accuracyKm ?? null,
      })
      .execute();
    const kept = await this.db
      .selectFrom('identity_sign_ins')
      .select('at')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .orderBy('at', 'desc')
      .offset(HISTORY_LENGTH - 1)
      .limit(1)
      .executeTakeFirst();
    const forgetBefore = new Date(at.getTime() - HISTORY_DAYS * 86_400_000).toISOString();
    const cutoff = kept && kept.at > forgetBefore ? kept.at : forgetBefore;
    await this.db
      .deleteFrom('identity_sign_ins')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .where('at', '<', cutoff)
      .execute();
  }

  /** Forgets every sign-in of the user (erasure), in the caller's transaction. */
  async erase(db: Kysely<Database>, projectId: string, userId: string): Promise<void> {
    await db
      .deleteFrom('identity_sign_ins')
      .where('project_id', '=', projectId)
      .where('user_id', '=', userId)
      .execute();
  }
}
