import { Type } from 'typebox';

/** Tree sizes and indices: JSON numbers are exact up to 2^53, far beyond any log this serves. */
const treeIndex = (description?: string) =>
  Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, ...(description ? { description } : {}) });
const TreeIndex = treeIndex();
const LATEST = 'Tree size; the latest checkpoint if omitted.';
const Hashes = Type.Array(Type.String({ contentEncoding: 'base64' }), {
  description: 'SHA-256 hashes, standard base64, in RFC 9162 order.',
});

export const TilePathParams = Type.Object({ '*': Type.String({ maxLength: 100 }) });

export const InclusionQuery = Type.Object(
  {
    index: TreeIndex,
    size: Type.Optional(treeIndex(LATEST)),
  },
  { additionalProperties: false },
);

export const ConsistencyQuery = Type.Object(
  {
    from: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    to: Type.Optional(treeIndex(LATEST)),
  },
  { additionalProperties: false },
);

export const InclusionProof = Type.Object({ index: TreeIndex, size: TreeIndex, hashes: Hashes });
export const ConsistencyProof = Type.Object({ from: TreeIndex, to: TreeIndex, hashes: Hashes });
