/**
 * The built-in provider: decides at once, without any vendor, from what the end user's device read and
 * typed (the sealed `fields`: MRZ lines, names, date of birth, document number, issuing country) and the
 * presence of the document images. It reads the MRZ and recomputes its check digits, checks expiry and
 * the requested minimum age, and compares the MRZ with the typed fields. It does not look at the images
 * (no forgery, selfie or liveness detection): projects that need those route them to a vendor.
 */
import { type MrzData, nameMatchesMrz, readMrz } from '../mrz.js';
import type { CheckOutcome, CheckType, ProviderOutcome, SubmittedFields } from '../types.js';
import {
  type AdapterFactory,
  type ProviderCapabilities,
  ProviderError,
  type ProviderRequest,
  WebhookRejected,
} from './types.js';

export const localCapabilities: ProviderCapabilities = {
  checks: ['document', 'age'],
  // The document types that carry an ICAO MRZ; driving licences do not (a few national formats aside).
  documentTypes: ['PASSPORT', 'ID_CARD', 'RESIDENCE_PERMIT'],
  countries: null,
};

/** What was compared between the MRZ and the typed fields (`unknown`: the MRZ leaves it open). */
type Comparison = 'match' | 'mismatch' | 'not_submitted' | 'unknown';

/** The summary kept as the provider's raw answer: what was checked, no personal data, no images. */
export interface LocalCheckSummary {
  provider: 'local';
  mrz: { status: 'read' | 'unreadable'; format?: string; checkDigits?: MrzData['checkDigits'] };
  documentsPresent: string[];
  documentExpired?: boolean | null;
  age?: { minimumAge: number; result: CheckOutcome };
  consistency?: Record<
    'firstName' | 'lastName' | 'dateOfBirth' | 'documentNumber' | 'issuingCountry',
    Comparison
  >;
}

export const localAdapter: AdapterFactory = (_settings, deps) => ({
  kind: 'local',
  capabilities: localCapabilities,
  async submit(request, signal) {
    if (signal.aborted) throw new ProviderError('timeout', 'The local check was aborted.');
    return { ref: request.attemptId, outcome: decideLocally(request, deps.now()) };
  },
  async fetchResult() {
    // Nothing is kept: the decision was returned by `submit`.
    throw new ProviderError(
      'unsupported',
      'The local provider decides in submit and keeps no results to fetch.',
    );
  },
  parseWebhook() {
    throw new WebhookRejected('The local provider sends no webhooks.');
  },
});

/** Reasons that make the document check fail or need a look, as opposed to the age check. */
const DOCUMENT_FAILURES = new Set(['document_expired', 'data_mismatch']);
const DOCUMENT_REVIEWS = new Set(['mrz_check_digit_failed', 'name_mismatch', 'document_expiry_unknown']);

/** The local decision for one attempt (pure; `now` anchors expiry, age and the MRZ's two-digit years). */
export function decideLocally(request: ProviderRequest, now: Date): ProviderOutcome {
  const unsupported = request.checks.filter((check) => !localCapabilities.checks.includes(check.type));
  if (unsupported.length > 0) {
    throw new ProviderError(
      'unsupported',
      `The local provider does not perform ${unsupported.map((c) => c.type).join(', ')} checks.`,
    );
  }
  const ageCheck = request.checks.find((check) => check.type === 'age');
  const minimumAge = ageCheck?.minimumAge;
  if (ageCheck && (minimumAge === undefined || !Number.isInteger(minimumAge) || minimumAge < 0)) {
    throw new ProviderError('rejected', 'An age check needs a minimum age in whole years.');
  }
  const mrzLines = request.fields.mrz;
  if (!mrzLines || mrzLines.length === 0) {
    // Without an MRZ there is nothing to check locally; another provider may read the document itself.
    throw new ProviderError('unsupported', 'The local provider needs the MRZ lines in the submitted fields.');
  }

  const present = new Set(request.documents.map((document) => document.kind));
  const summary: LocalCheckSummary = {
    provider: 'local',
    mrz: { status: 'unreadable' },
    documentsPresent: [...present],
  };
  const outcome = (
    status: ProviderOutcome['status'],
    reasons: string[],
    checks: ProviderOutcome['checks'],
    extracted: ProviderOutcome['extracted'] = {},
  ): ProviderOutcome => ({ status, reasons, checks, extracted, raw: summary, occurredAt: now });

  if (!present.has('document-front')) {
    return outcome('resubmission_requested', ['document_image_missing'], {});
  }
  const reading = readMrz(mrzLines, now);
  if (reading.status === 'unsupported') {
    throw new ProviderError('unsupported', `The local provider reads ICAO MRZs only, not ${reading.format}.`);
  }
  if (reading.status === 'unreadable') {
    return outcome('declined', ['mrz_unreadable'], {
      document: 'failed',
      ...(ageCheck ? { age: 'not_performed' } : {}),
    });
  }
  const mrz = reading.data;
  summary.mrz = { status: 'read', format: mrz.format, checkDigits: mrz.checkDigits };
  // The MRZ of a card is on its back: a card without its back image was not photographed whole.
  if (mrz.format !== 'TD3' && !present.has('document-back')) {
    return outcome('resubmission_requested', ['document_image_missing'], {});
  }

  const declines: string[] = [];
  const reviews: string[] = [];
  // A field whose own check digit fails may be misread: it can ask for a review, never decline.
  const judge = (reliable: boolean, reason: string) => (reliable ? declines : reviews).push(reason);
  if (!mrz.checkDigitsValid) reviews.push('mrz_check_digit_failed');

  const today = now.toISOString().slice(0, 10);
  summary.documentExpired = mrz.expiresOn === null ? null : mrz.expiresOn < today;
  if (mrz.expiresOn === null) reviews.push('document_expiry_unknown');
  else if (mrz.expiresOn < today) judge(mrz.checkDigits.expiresOn, 'document_expired');

  let age: CheckOutcome | undefined;
  if (ageCheck && minimumAge !== undefined) {
    if (mrz.dateOfBirth === null) {
      reviews.push('date_of_birth_unknown');
      age = 'review';
    } else if (ageInYears(mrz.dateOfBirth, today) < minimumAge) {
      judge(mrz.checkDigits.dateOfBirth, 'under_minimum_age');
      age = mrz.checkDigits.dateOfBirth ? 'failed' : 'review';
    } else {
      age = mrz.checkDigits.dateOfBirth ? 'passed' : 'review';
    }
    summary.age = { minimumAge, result: age };
  }

  const consistency = compareWithMrz(request.fields, mrz);
  summary.consistency = consistency;
  if (consistency.firstName === 'mismatch' || consistency.lastName === 'mismatch')
    reviews.push('name_mismatch');
  const reliable = {
    dateOfBirth: mrz.checkDigits.dateOfBirth,
    documentNumber: mrz.checkDigits.documentNumber,
    // No check digit covers the issuing state, so a misread cannot be told apart from a mismatch.
    issuingCountry: true,
  } as const;
  for (const field of ['dateOfBirth', 'documentNumber', 'issuingCountry'] as const) {
    if (consistency[field] === 'mismatch') judge(reliable[field], 'data_mismatch');
  }

  const reasons = [...new Set([...declines, ...reviews])];
  const status = declines.length > 0 ? 'declined' : reviews.length > 0 ? 'needs_review' : 'approved';
  let document: CheckOutcome = 'passed';
  if (declines.some((reason) => DOCUMENT_FAILURES.has(reason))) document = 'failed';
  else if (reviews.some((reason) => DOCUMENT_REVIEWS.has(reason) || DOCUMENT_FAILURES.has(reason)))
    document = 'review';
  const checks: Partial<Record<CheckType, CheckOutcome>> = { document, ...(age ? { age } : {}) };
  return outcome(status, reasons, checks, {
    firstName: mrz.firstName,
    lastName: mrz.lastName,
    ...(mrz.dateOfBirth ? { dateOfBirth: mrz.dateOfBirth } : {}),
    ...(mrz.expiresOn ? { documentExpiresOn: mrz.expiresOn } : {}),
    documentNumber: mrz.documentNumber,
    documentType: mrz.documentType,
    issuingCountry: mrz.issuingCountry,
    nationality: mrz.nationality,
  });
}

/** Whole years from a YYYY-MM-DD birth date to `today`; a 29 February birthday falls on 1 March. */
export function ageInYears(dateOfBirth: string, today: string): number {
  const [by, bm, bd] = dateOfBirth.split('-').map(Number) as [number, number, number];
  const [ty, tm, td] = today.split('-').map(Number) as [number, number, number];
  const beforeBirthday = tm < bm || (tm === bm && td < bd);
  return ty - by - (beforeBirthday ? 1 : 0);
}

function compareWithMrz(
  fields: SubmittedFields,
  mrz: MrzData,
): NonNullable<LocalCheckSummary['consistency']> {
  const compare = (typed: string | undefined, equal: (value: string) => boolean): Comparison =>
    typed === undefined || typed.trim() === '' ? 'not_submitted' : equal(typed) ? 'match' : 'mismatch';
  const documentNumber = (value: string) => value.toUpperCase().replace(/[\s<-]/g, '');
  return {
    firstName: compare(fields.firstName, (v) => nameMatchesMrz(v, mrz.firstName, mrz.nameTruncated)),
    lastName: compare(fields.lastName, (v) => nameMatchesMrz(v, mrz.lastName, mrz.nameTruncated)),
    dateOfBirth:
      mrz.dateOfBirth === null && fields.dateOfBirth
        ? 'unknown'
        : compare(fields.dateOfBirth, (v) => v.trim() === mrz.dateOfBirth),
    documentNumber: compare(
      fields.documentNumber,
      (v) => documentNumber(v) === documentNumber(mrz.documentNumber),
    ),
    issuingCountry: compare(fields.issuingCountry, (v) => {
      const typed = v.trim().toUpperCase().replace(/<+$/, '');
      return (typed === 'D' ? 'DEU' : typed) === mrz.issuingCountry;
    }),
  };
}
