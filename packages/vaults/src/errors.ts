/** Input that is not a well-formed vault document (a server answers 400). */
export class VaultFormatError extends Error {
  override readonly name = 'VaultFormatError';
  constructor(
    message: string,
    /** The failing field, as a JSON path from the document's root (e.g. `/items/3/keyIds`). */
    readonly path?: string,
  ) {
    super(message);
  }
}

export type VaultIntegrityCode =
  /** A hybrid signature (either half) does not verify. */
  | 'bad-signature'
  /** The signer is no member of the previous manifest, or its role does not allow the change. */
  | 'unauthorized-signer'
  /** The manifest does not follow the previous one (vault, sequence or previous hash). */
  | 'broken-chain'
  /** The server shows an older state than one already verified. */
  | 'rollback'
  /** An item the verified manifest lists is missing from the server's answer. */
  | 'dropped-item'
  /** Bytes or metadata differ from what the verified manifest commits to. */
  | 'tampered'
  /** A key id has no public keys, or the keys do not hash to the id. */
  | 'unknown-key'
  /** The vault's owner changed or lost its admin role. */
  | 'owner-changed';

/** A well-formed document that fails a signature or consistency rule: tampering, or a buggy writer. */
export class VaultIntegrityError extends Error {
  override readonly name = 'VaultIntegrityError';
  constructor(
    readonly code: VaultIntegrityCode,
    message: string,
  ) {
    super(message);
  }
}
