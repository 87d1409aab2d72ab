import { describe, expect, it } from 'vitest';
import { mrzCheckDigit } from '../src/modules/kyc/mrz.js';
import { ageInYears, decideLocally, localAdapter } from '../src/modules/kyc/providers/local.js';
import { ProviderError, type ProviderRequest, WebhookRejected } from '../src/modules/kyc/providers/types.js';
import type { CheckRequest, PlainDocument, SubmittedFields } from '../src/modules/kyc/types.js';

const NOW = new Date('2026-05-01T12:00:00Z');

// Builders for MRZs with chosen data. Their check digits come from mrzCheckDigit, which kyc-mrz.test.ts pins
// to the ICAO specimens' published digits.
const pad = (text: string, length: number) => text.padEnd(length, '<').slice(0, length);

interface Td3Data {
  state?: string;
  names?: string;
  number?: string;
  nationality?: string;
  dob?: string;
  sex?: string;
  expiry?: string;
  personal?: string;
}

function td3(data: Td3Data = {}): string[] {
  const number = pad(data.number ?? 'L898902C3', 9);
  const dob = data.dob ?? '740812';
  const expiry = data.expiry ?? '340415';
  const personal = pad(data.personal ?? 'ZE184226B', 14);
  const line2 =
    `${number}${mrzCheckDigit(number)}${pad(data.nationality ?? 'UTO', 3)}${dob}${mrzCheckDigit(dob)}` +
    `${data.sex ?? 'F'}${expiry}${mrzCheckDigit(expiry)}${personal}${mrzCheckDigit(personal)}`;
  const composite = mrzCheckDigit(line2.slice(0, 10) + line2.slice(13, 20) + line2.slice(21, 43));
  return [
    pad(`P<${pad(data.state ?? 'UTO', 3)}${data.names ?? 'ERIKSSON<<ANNA<MARIA'}`, 44),
    `${line2}${composite}`,
  ];
}

/** A TD1 card; a number longer than 9 characters uses the long-number layout. */
function td1(data: { number?: string; dob?: string; expiry?: string } = {}): string[] {
  const number = data.number ?? 'D23145890';
  const documentPart =
    number.length <= 9
      ? `${pad(number, 9)}${mrzCheckDigit(pad(number, 9))}${'<'.repeat(15)}`
      : pad(`${number.slice(0, 9)}<${number.slice(9)}${mrzCheckDigit(number)}`, 25);
  const line1 = `I<UTO${documentPart}`;
  const dob = data.dob ?? '740812';
  const expiry = data.expiry ?? '340415';
  const start = `${dob}${mrzCheckDigit(dob)}F${expiry}${mrzCheckDigit(expiry)}UTO${'<'.repeat(11)}`;
  const composite = mrzCheckDigit(
    line1.slice(5, 30) + start.slice(0, 7) + start.slice(8, 15) + start.slice(18, 29),
  );
  return [line1, `${start}${composite}`, pad('ERIKSSON<<ANNA<MARIA', 30)];
}

/** Replaces one character (0-based column) of one line. */
function withChar(lines: string[], line: number, column: number, char: string): string[] {
  return lines.map((text, i) => (i === line ? text.slice(0, column) + char + text.slice(column + 1) : text));
}

const image = (kind: PlainDocument['kind']): PlainDocument => ({
  kind,
  contentType: 'image/jpeg',
  bytes: new Uint8Array([0xff, 0xd8, 0xff, 0xe0]),
});

function request(
  fields: SubmittedFields,
  checks: CheckRequest[] = [{ type: 'document' }],
  documents: PlainDocument[] = [image('document-front'), image('document-back')],
): ProviderRequest {
  return {
    sessionId: 'vrf_local',
    attemptId: 'vat_local',
    checks,
    documents,
    fields,
  };
}

const typed: SubmittedFields = {
  firstName: 'Anna Maria',
  lastName: 'Eriksson',
  dateOfBirth: '1974-08-12',
  documentNumber: 'L898902C3',
  documentType: 'PASSPORT',
  issuingCountry: 'UTO',
};

const adapter = localAdapter(
  { id: 'vpc_local', kind: 'local', baseUrl: '', secrets: {}, options: {} },
  { fetch: () => Promise.reject(new Error('the local provider makes no calls')), now: () => NOW },
);

async function submit(req: ProviderRequest) {
  const submission = await adapter.submit(req, AbortSignal.timeout(1000));
  expect(submission.ref).toBe('vat_local');
  if (!submission.outcome) throw new Error('the local provider decides synchronously');
  return submission.outcome;
}

describe('local provider decisions', () => {
  it('approves a valid, unexpired passport whose MRZ matches the typed fields', async () => {
    const outcome = await submit(
      request({ ...typed, mrz: td3() }, [{ type: 'document' }, { type: 'age', minimumAge: 18 }]),
    );
    expect(outcome).toMatchObject({
      status: 'approved',
      reasons: [],
      checks: { document: 'passed', age: 'passed' },
      extracted: {
        firstName: 'ANNA MARIA',
        lastName: 'ERIKSSON',
        dateOfBirth: '1974-08-12',
        documentExpiresOn: '2034-04-15',
        documentNumber: 'L898902C3',
        documentType: 'PASSPORT',
        issuingCountry: 'UTO',
        nationality: 'UTO',
      },
      occurredAt: NOW,
    });
    expect(outcome.checks).not.toHaveProperty('selfie');
  });

  it('keeps no personal data or images in the raw summary', async () => {
    const outcome = await submit(request({ ...typed, mrz: td3() }, [{ type: 'age', minimumAge: 21 }]));
    const raw = JSON.stringify(outcome.raw);
    for (const personal of ['ERIKSSON', 'Eriksson', 'L898902C3', '1974', '740812'])
      expect(raw).not.toContain(personal);
    expect(outcome.raw).toMatchObject({
      provider: 'local',
      mrz: { status: 'read', format: 'TD3' },
      documentExpired: false,
      age: { minimumAge: 21, result: 'passed' },
      consistency: { firstName: 'match', lastName: 'match', dateOfBirth: 'match', documentNumber: 'match' },
    });
  });

  it('approves without typed fields (nothing to compare) and a card with its long document number', async () => {
    const outcome = await submit(request({ mrz: td1({ number: 'D23145890123' }) }));
    expect(outcome.status).toBe('approved');
    expect(outcome.extracted).toMatchObject({ documentNumber: 'D23145890123', documentType: 'ID_CARD' });
    const typedLong = await submit(
      request({ documentNumber: 'D2314 5890-123', mrz: td1({ number: 'D23145890123' }) }),
    );
    expect(typedLong.status).toBe('approved');
  });

  it('declines an unreadable MRZ', async () => {
    const outcome = await submit(
      request({ ...typed, mrz: ['NOT AN MRZ'] }, [{ type: 'document' }, { type: 'age', minimumAge: 18 }]),
    );
    expect(outcome).toMatchObject({
      status: 'declined',
      reasons: ['mrz_unreadable'],
      checks: { document: 'failed', age: 'not_performed' },
      extracted: {},
    });
    const badDate = await submit(request({ mrz: td3({ dob: '741332' }) }));
    expect(badDate.reasons).toEqual(['mrz_unreadable']);
  });

  it('sends a failed check digit to review, not to a decline', async () => {
    const mrz = withChar(td3(), 1, 9, String((Number(td3()[1]?.charAt(9)) + 1) % 10));
    const outcome = await submit(request({ mrz }));
    expect(outcome).toMatchObject({
      status: 'needs_review',
      reasons: ['mrz_check_digit_failed'],
      checks: { document: 'review' },
    });
  });

  it('declines an expired document (the ICAO specimen expired in 2012)', async () => {
    const outcome = await submit(request({ ...typed, mrz: td3({ expiry: '120415' }) }));
    expect(outcome).toMatchObject({
      status: 'declined',
      reasons: ['document_expired'],
      checks: { document: 'failed' },
    });
    expect(outcome.extracted.documentExpiresOn).toBe('2012-04-15');
    // Expiring today is still valid.
    expect((await submit(request({ mrz: td3({ expiry: '260501' }) }))).status).toBe('approved');
    expect((await submit(request({ mrz: td3({ expiry: '260430' }) }))).reasons).toEqual(['document_expired']);
  });

  it('only reviews an expiry whose own check digit fails', async () => {
    const expired = td3({ expiry: '120415' });
    const mrz = withChar(expired, 1, 27, String((Number(expired[1]?.charAt(27)) + 1) % 10));
    const outcome = await submit(request({ mrz }));
    expect(outcome.status).toBe('needs_review');
    expect(outcome.reasons).toEqual(expect.arrayContaining(['document_expired', 'mrz_check_digit_failed']));
  });

  it('declines below the minimum age, to the day', async () => {
    const age = (dob: string) => submit(request({ mrz: td3({ dob }) }, [{ type: 'age', minimumAge: 18 }]));
    const under = await age('080502'); // 18 tomorrow
    expect(under).toMatchObject({
      status: 'declined',
      reasons: ['under_minimum_age'],
      checks: { document: 'passed', age: 'failed' },
    });
    const birthday = await age('080501'); // 18 today
    expect(birthday).toMatchObject({ status: 'approved', checks: { age: 'passed' } });
  });

  it('reviews an under-age date of birth whose check digit fails, and an unknown one', async () => {
    const young = td3({ dob: '100101' });
    const misread = withChar(young, 1, 19, String((Number(young[1]?.charAt(19)) + 1) % 10));
    const outcome = await submit(request({ mrz: misread }, [{ type: 'age', minimumAge: 18 }]));
    expect(outcome).toMatchObject({ status: 'needs_review', checks: { age: 'review' } });
    expect(outcome.reasons).toEqual(expect.arrayContaining(['under_minimum_age', 'mrz_check_digit_failed']));

    const unknown = await submit(request({ mrz: td3({ dob: '74<<<<' }) }, [{ type: 'age', minimumAge: 18 }]));
    expect(unknown).toMatchObject({ status: 'needs_review', checks: { age: 'review' } });
    expect(unknown.reasons).toContain('date_of_birth_unknown');
  });

  it('declines when the date of birth, document number or issuing country differs from the MRZ', async () => {
    for (const mismatch of [
      { dateOfBirth: '1974-08-13' },
      { documentNumber: 'L898902C4' },
      { issuingCountry: 'GBR' },
    ] satisfies SubmittedFields[]) {
      const outcome = await submit(request({ ...typed, ...mismatch, mrz: td3() }));
      expect(outcome, JSON.stringify(mismatch)).toMatchObject({
        status: 'declined',
        reasons: ['data_mismatch'],
        checks: { document: 'failed' },
      });
    }
  });

  it('sends a name mismatch to review, and accepts transliterated and truncated names', async () => {
    const mismatch = await submit(request({ ...typed, firstName: 'Annika', mrz: td3() }));
    expect(mismatch).toMatchObject({
      status: 'needs_review',
      reasons: ['name_mismatch'],
      checks: { document: 'review' },
    });

    const german = await submit(
      request({
        firstName: 'Jürgen',
        lastName: "Müller-O'Neill",
        issuingCountry: 'DEU',
        mrz: td3({ state: 'D', nationality: 'D', names: 'MUELLER<ONEILL<<JUERGEN' }),
      }),
    );
    expect(german.status).toBe('approved');
    expect(german.extracted).toMatchObject({ issuingCountry: 'DEU', lastName: 'MUELLER ONEILL' });

    const truncated = await submit(
      request({
        firstName: 'Hubert Blaine Wolfe',
        lastName: 'Wolfeschlegelsteinhausen',
        mrz: td3({ names: 'WOLFESCHLEGELSTEINHAUSEN<<HUBERT<BLAINE<W' }),
      }),
    );
    expect(truncated.status).toBe('approved');
  });

  it('asks for the images again when the document photos are missing', async () => {
    const noFront = await submit(request({ mrz: td3() }, [{ type: 'document' }], [image('document-back')]));
    expect(noFront).toMatchObject({ status: 'resubmission_requested', reasons: ['document_image_missing'] });
    // A card's MRZ is on its back.
    const cardWithoutBack = await submit(
      request({ mrz: td1() }, [{ type: 'document' }], [image('document-front')]),
    );
    expect(cardWithoutBack.reasons).toEqual(['document_image_missing']);
    const passportFrontOnly = await submit(
      request({ mrz: td3() }, [{ type: 'document' }], [image('document-front')]),
    );
    expect(passportFrontOnly.status).toBe('approved');
  });

  it('lets the orchestrator fall back when it cannot do the job', async () => {
    const kinds = async (req: ProviderRequest) => {
      try {
        await adapter.submit(req, AbortSignal.timeout(1000));
        return 'submitted';
      } catch (error) {
        expect(error).toBeInstanceOf(ProviderError);
        return (error as ProviderError).kind;
      }
    };
    expect(await kinds(request({ ...typed }))).toBe('unsupported'); // no MRZ
    expect(await kinds(request({ mrz: td3() }, [{ type: 'document' }, { type: 'selfie' }]))).toBe(
      'unsupported',
    );
    expect(
      await kinds(
        request({ mrz: ['IDFRAMARTIN<<<<<<<<<<<<<<<<<<<<<<<<<', '8806923102858CORINNE<<<<<<<6512068F4'] }),
      ),
    ).toBe('unsupported');
    expect(await kinds(request({ mrz: td3() }, [{ type: 'age' }]))).toBe('rejected');
    const aborted = new AbortController();
    aborted.abort();
    await expect(adapter.submit(request({ mrz: td3() }), aborted.signal)).rejects.toMatchObject({
      kind: 'timeout',
    });
  });

  it('pivots two-digit years against the clock it is given', () => {
    // Born 31 Dec 1999, checked on 1 Jan 2000: not a day over zero.
    const outcome = decideLocally(
      request({ mrz: td3({ dob: '991231', expiry: '050101' }) }, [{ type: 'age', minimumAge: 0 }]),
      new Date('2000-01-01T00:00:00Z'),
    );
    expect(outcome.extracted).toMatchObject({ dateOfBirth: '1999-12-31', documentExpiresOn: '2005-01-01' });
    expect(outcome.status).toBe('approved');
    // `05` read in late 2099 is 2105 (valid); `98` is 2098 (expired).
    const late = new Date('2099-06-01T00:00:00Z');
    expect(decideLocally(request({ mrz: td3({ expiry: '050101' }) }), late).status).toBe('approved');
    expect(decideLocally(request({ mrz: td3({ expiry: '980101' }) }), late).reasons).toEqual([
      'document_expired',
    ]);
  });

  it('counts whole years, a 29 February birthday falling on 1 March', () => {
    expect(ageInYears('2008-02-29', '2026-02-28')).toBe(17);
    expect(ageInYears('2008-02-29', '2026-03-01')).toBe(18);
    expect(ageInYears('1974-08-12', '2026-08-11')).toBe(51);
    expect(ageInYears('1974-08-12', '2026-08-12')).toBe(52);
  });

  it('has no results to fetch and takes no webhooks', async () => {
    await expect(adapter.fetchResult('vat_local', AbortSignal.timeout(1000))).rejects.toMatchObject({
      kind: 'unsupported',
    });
    expect(() => adapter.parseWebhook(new Uint8Array(), {}, NOW)).toThrow(WebhookRejected);
  });
});
