export {
  createStatusChecker,
  type StatusChecker,
  type StatusCheckerOptions,
  type StatusEntryFailure,
  type StatusEntryResult,
} from './checker.js';
export {
  addStatusEntries,
  buildStatusListCredential,
  buildStatusListEntry,
  type StatusListEntry,
} from './credential.js';
export { type StatusListErrorCode, statusListError } from './errors.js';
export { STATUS_LIST_MAX_BYTES, STATUS_LIST_MIN_LENGTH, STATUS_SIZE_MAX, StatusList } from './list.js';
export type { StatusMessage } from './status-message.js';
