/** Event types: dotted lower-case words, e.g. `verification.approved`. */
export const EVENT_TYPE_PATTERN = '^[a-z][a-z_]*(\\.[a-z_]+)+$';

/** An endpoint filter: an exact event type, or a prefix wildcard such as `verification.*`. */
export const EVENT_FILTER_PATTERN = '^([a-z][a-z_]*(\\.[a-z_]+)+|[a-z][a-z_]*(\\.[a-z_]+)*\\.\\*)$';

const eventType = new RegExp(EVENT_TYPE_PATTERN);

export function isEventType(type: string): boolean {
  return eventType.test(type);
}

/** Whether an endpoint with these filters receives `type`; no filter at all means every event. */
export function matchesFilters(filters: readonly string[], type: string): boolean {
  if (filters.length === 0) return true;
  return filters.some((filter) =>
    filter.endsWith('.*') ? type.startsWith(filter.slice(0, -1)) : filter === type,
  );
}
