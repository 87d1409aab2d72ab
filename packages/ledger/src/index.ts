export { decodeEntryBundle, encodeEntryBundle } from './bundle.js';
export { type Checkpoint, formatCheckpoint, parseCheckpoint } from './checkpoint.js';
export { cosignatureSigner, cosignatureVerifier } from './cosignature.js';
export { LedgerError, type LedgerErrorCode } from './errors.js';
export { EMPTY_ROOT, HASH_SIZE, hashChildren, hashLeaf, rootOf } from './hash.js';
export {
  type KeyType,
  noteKeyId,
  SIGNATURE_TYPE_COSIGNATURE_ED25519,
  SIGNATURE_TYPE_ED25519,
  verifierKeyFor,
} from './key-format.js';
export {
  addNoteSignatures,
  MAX_NOTE_SIGNATURES,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  openNote,
  parseNote,
  signatureLines,
  signNote,
} from './note.js';
export { ed25519NoteSigner, generateNoteKey, noteSigner, noteVerifier } from './note-keys.js';
export { verifyConsistency, verifyInclusion } from './proofs.js';
export { appendLeafHashes } from './tile-append.js';
export {
  INNER_SUBTREE_HASHES,
  innerSubtreeHashes,
  rememberInnerSubtreeHashes,
  type TileReader,
} from './tile-nodes.js';
export {
  entriesPath,
  parseTilePath,
  TILE_HEIGHT,
  TILE_WIDTH,
  type TileId,
  tilePath,
  tilesForSize,
} from './tile-paths.js';
export { proveConsistency, proveInclusion, treeRoot } from './tile-proofs.js';
export { formatTlogProof, parseTlogProof, type TlogProof, verifyTlogProof } from './tlog-proof.js';
export {
  type AddCheckpointDecision,
  type AddCheckpointRequest,
  checkAddCheckpoint,
  formatAddCheckpoint,
  MAX_WITNESS_PROOF_LINES,
  parseAddCheckpoint,
  type WitnessState,
} from './witness.js';
