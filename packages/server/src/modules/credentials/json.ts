/** JSON-LD documents as the VC-API receives them: objects, values that may be one item or an array. */
export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A property that may hold one value or several, as a list (none when absent). */
export function asArray(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** An object whose `type` is, or lists, `type`. */
export function hasType(value: unknown, type: string): value is JsonObject {
  return isObject(value) && asArray(value.type).includes(type);
}
