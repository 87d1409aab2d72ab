import { describe, expect, it } from 'vitest';
import {
  mrzCheckDigit,
  mrzNameForms,
  nameMatchesMrz,
  pivotBirthYear,
  pivotExpiryYear,
  readMrz,
} from '../src/modules/kyc/mrz.js';

// ICAO Doc 9303 "Utopia" specimens (reference §5, all [verified]).
const TD3 = ['P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<', 'L898902C36UTO7408122F1204159ZE184226B<<<<<10'];
const TD1 = [
  'I<UTOD231458907<<<<<<<<<<<<<<<',
  '7408122F1204159UTO<<<<<<<<<<<6',
  'ERIKSSON<<ANNA<MARIA<<<<<<<<<<',
];
const TD1_LONG = [
  'I<UTOD23145890<1233<<<<<<<<<<<',
  '7408122F1204159UTO<<<<<<<<<<<2',
  'ERIKSSON<<ANNA<MARIA<<<<<<<<<<',
];
// Doc 9303 Part 6 specimen.
const TD2 = ['I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<', 'D231458907UTO7408122F1204159<<<<<<<6'];

const NOW = new Date('2026-05-01T12:00:00Z');

/** Replaces one character (0-based column) of one line. */
function withChar(lines: string[], line: number, column: number, char: string): string[] {
  return lines.map((text, i) => (i === line ? text.slice(0, column) + char + text.slice(column + 1) : text));
}

function read(lines: string[], now = NOW) {
  const reading = readMrz(lines, now);
  if (reading.status !== 'read') throw new Error(`expected a reading, got ${JSON.stringify(reading)}`);
  return reading.data;
}

describe('mrzCheckDigit (ICAO 9303 Part 3)', () => {
  it('computes every check digit of the TD3 specimen', () => {
    expect(mrzCheckDigit('L898902C3')).toBe(6);
    expect(mrzCheckDigit('740812')).toBe(2);
    expect(mrzCheckDigit('120415')).toBe(9);
    expect(mrzCheckDigit('ZE184226B<<<<<')).toBe(1);
    expect(mrzCheckDigit(`L898902C36${'7408122'}${'120415'}9${'ZE184226B<<<<<1'}`)).toBe(0);
  });

  it('computes every check digit of the TD1 specimen', () => {
    expect(mrzCheckDigit('D23145890')).toBe(7);
    expect(mrzCheckDigit('740812')).toBe(2);
    expect(mrzCheckDigit('120415')).toBe(9);
    // L1 6–30 + L2 1–7 + L2 9–15 + L2 19–29.
    expect(mrzCheckDigit(`D231458907${'<'.repeat(15)}7408122${'1204159'}${'<'.repeat(11)}`)).toBe(6);
  });

  it('computes the long-number TD1 check digits over the full number', () => {
    expect(mrzCheckDigit('D23145890123')).toBe(3);
    expect(mrzCheckDigit(`D23145890<1233${'<'.repeat(11)}7408122${'1204159'}${'<'.repeat(11)}`)).toBe(2);
  });

  it('values letters 10–35 and the filler 0, weighted 7 3 1', () => {
    expect(mrzCheckDigit('A')).toBe(0); // 10·7 = 70
    expect(mrzCheckDigit('AB')).toBe(3); // 70 + 11·3 = 103
    expect(mrzCheckDigit('ABZ')).toBe(8); // 103 + 35·1 = 138
    expect(mrzCheckDigit('<<<')).toBe(0);
    expect(mrzCheckDigit('')).toBe(0);
  });

  it('throws on characters outside A–Z 0–9 <', () => {
    for (const bad of ['l898902c3', 'AB CD', 'A-B', 'Ä', '12.3']) {
      expect(() => mrzCheckDigit(bad)).toThrow(RangeError);
    }
  });
});

describe('readMrz', () => {
  it('reads the TD3 specimen, every check digit verified', () => {
    const data = read(TD3);
    expect(data).toMatchObject({
      format: 'TD3',
      documentCode: 'P',
      documentType: 'PASSPORT',
      issuingCountry: 'UTO',
      nationality: 'UTO',
      documentNumber: 'L898902C3',
      lastName: 'ERIKSSON',
      firstName: 'ANNA MARIA',
      nameTruncated: false,
      dateOfBirth: '1974-08-12',
      expiresOn: '2012-04-15',
      checkDigitsValid: true,
    });
    expect(data.checkDigits).toEqual({
      documentNumber: true,
      dateOfBirth: true,
      expiresOn: true,
      personalNumber: true,
      composite: true,
    });
  });

  it('reads the TD1 and TD2 specimens', () => {
    expect(read(TD1)).toMatchObject({
      format: 'TD1',
      documentType: 'ID_CARD',
      documentNumber: 'D23145890',
      checkDigitsValid: true,
      checkDigits: { personalNumber: null },
    });
    expect(read(TD2)).toMatchObject({ format: 'TD2', documentNumber: 'D23145890', checkDigitsValid: true });
  });

  it('reads a TD1 document number longer than 9 characters', () => {
    const data = read(TD1_LONG);
    expect(data.documentNumber).toBe('D23145890123');
    expect(data.checkDigits.documentNumber).toBe(true);
    expect(data.checkDigits.composite).toBe(true);
  });

  it('rejects a wrong long-number check digit', () => {
    const data = read(withChar(TD1_LONG, 0, 18, '4'));
    expect(data.checkDigits.documentNumber).toBe(false);
    expect(data.checkDigitsValid).toBe(false);
  });

  it('flags each failed check digit separately', () => {
    const cases: [number, number, keyof ReturnType<typeof read>['checkDigits']][] = [
      [1, 9, 'documentNumber'],
      [1, 19, 'dateOfBirth'],
      [1, 27, 'expiresOn'],
      [1, 42, 'personalNumber'],
      [1, 43, 'composite'],
    ];
    for (const [line, column, field] of cases) {
      const current = TD3[line]?.charAt(column) ?? '';
      const data = read(withChar(TD3, line, column, String((Number(current) + 1) % 10)));
      expect(data.checkDigits[field], field).toBe(false);
      expect(data.checkDigitsValid).toBe(false);
    }
    // A digit field misread: its own digit and the composite fail.
    const misread = read(withChar(TD3, 1, 14, '5'));
    expect(misread.checkDigits).toMatchObject({ dateOfBirth: false, composite: false, documentNumber: true });
  });

  it('accepts `<` or 0 as the check digit of an empty TD3 personal number', () => {
    const base = 'L898902C36UTO7408122F1204159<<<<<<<<<<<<<<';
    for (const digit of ['<', '0']) {
      const composite = mrzCheckDigit(`${base.slice(0, 10)}${base.slice(13, 20)}${base.slice(21)}${digit}`);
      const data = read([TD3[0] as string, `${base}${digit}${composite}`]);
      expect(data.checkDigits.personalNumber).toBe(true);
      expect(data.checkDigitsValid).toBe(true);
    }
  });

  it('reads Germany as DEU, accepts sex X and marks a full name zone as truncated', () => {
    const german = read([
      'P<D<<MUSTERMANN<<ERIKA<<<<<<<<<<<<<<<<<<<<<<',
      'C01X00T478D<<6408125F2702283<<<<<<<<<<<<<<<4',
    ]);
    expect(german).toMatchObject({ issuingCountry: 'DEU', nationality: 'DEU', checkDigitsValid: true });
    const x = read(withChar(TD3, 1, 20, 'X'));
    expect(x.checkDigitsValid).toBe(true);
    const long = read([`P<UTO${'WOLFESCHLEGELSTEINHAUSEN<<HUBERT<BLAINE<W'.slice(0, 39)}`, TD3[1] as string]);
    expect(long.nameTruncated).toBe(true);
  });

  it('maps document codes to document types', () => {
    const permit = TD1.map((line, i) => (i === 0 ? `IR${line.slice(2)}` : line));
    expect(read(permit).documentType).toBe('RESIDENCE_PERMIT');
    expect(read(TD1).documentCode).toBe('I');
  });

  it('gives unknown date parts as null', () => {
    const unknownDay = withChar(withChar(TD3, 1, 17, '<'), 1, 18, '<');
    expect(read(unknownDay).dateOfBirth).toBeNull();
  });

  it('answers unreadable for malformed input, without quoting it', () => {
    const cases: string[][] = [
      [],
      ['hello'],
      [TD3[0] as string, (TD3[1] as string).toLowerCase()],
      [TD3[0] as string, (TD3[1] as string).slice(0, 40)],
      [TD3[0] as string],
      withChar(TD3, 1, 15, '3'), // month 38
    ];
    for (const reading of cases.map((lines) => readMrz(lines, NOW))) {
      expect(reading.status).toBe('unreadable');
      expect(JSON.stringify(reading)).not.toContain('ERIKSSON');
    }
    // 30 February does not exist (the parser checks 1–31 only; we check the calendar).
    const feb30 = [
      'P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<',
      'L898902C36UTO7402300F1204159ZE184226B<<<<<10',
    ];
    expect(readMrz(feb30, NOW).status).toBe('unreadable');
    expect(readMrz(withChar(TD3, 1, 11, '1'), NOW).status).toBe('unreadable'); // nationality U1O
  });

  it('answers unsupported for non-ICAO machine-readable zones', () => {
    const frenchId = ['IDFRAMARTIN<<<<<<<<<<<<<<<<<<<<<<<<<', '8806923102858CORINNE<<<<<<<6512068F4'];
    expect(readMrz(frenchId, NOW)).toEqual({ status: 'unsupported', format: 'FRENCH_NATIONAL_ID' });
  });
});

describe('two-digit years', () => {
  it('pivots a date of birth into the past', () => {
    expect(pivotBirthYear(74, 8, 12, NOW)).toBe(1974);
    expect(pivotBirthYear(26, 4, 30, NOW)).toBe(2026);
    expect(pivotBirthYear(26, 5, 1, NOW)).toBe(2026); // today
    expect(pivotBirthYear(26, 5, 2, NOW)).toBe(1926); // tomorrow cannot be a birthday
  });

  it('pivots dates of birth across a century boundary', () => {
    const newYear2000 = new Date('2000-01-01T00:00:00Z');
    expect(pivotBirthYear(0, 1, 1, newYear2000)).toBe(2000);
    expect(pivotBirthYear(0, 1, 2, newYear2000)).toBe(1900);
    expect(pivotBirthYear(99, 12, 31, newYear2000)).toBe(1999);
    const endOf2099 = new Date('2099-12-31T23:00:00Z');
    expect(pivotBirthYear(99, 12, 31, endOf2099)).toBe(2099);
    expect(pivotBirthYear(0, 1, 1, endOf2099)).toBe(2000);
  });

  it('pivots expiry dates to within 50 years of now, leaning to the future', () => {
    expect(pivotExpiryYear(12, 4, 15, NOW)).toBe(2012);
    expect(pivotExpiryYear(36, 1, 1, NOW)).toBe(2036);
    expect(pivotExpiryYear(75, 1, 1, NOW)).toBe(2075);
    expect(pivotExpiryYear(76, 1, 1, NOW)).toBe(1976);
    const late2099 = new Date('2099-06-01T00:00:00Z');
    expect(pivotExpiryYear(5, 1, 1, late2099)).toBe(2105);
    expect(pivotExpiryYear(98, 1, 1, late2099)).toBe(2098);
    const early2000 = new Date('2000-01-01T00:00:00Z');
    expect(pivotExpiryYear(99, 12, 31, early2000)).toBe(1999);
    expect(pivotExpiryYear(49, 1, 1, early2000)).toBe(2049);
    expect(pivotExpiryYear(50, 1, 1, early2000)).toBe(1950);
  });

  it('reads a leap-day birth date only in a leap year', () => {
    const leap = (yymmdd: string) => {
      const line = `L898902C36UTO${yymmdd}${mrzCheckDigit(yymmdd)}F1204159ZE184226B<<<<<1`;
      const composite = mrzCheckDigit(line.slice(0, 10) + line.slice(13, 20) + line.slice(21, 43));
      return [TD3[0] as string, `${line}${composite}`];
    };
    expect(read(leap('000229')).dateOfBirth).toBe('2000-02-29');
    // Read in 1999, `00` is 1900, which had no 29 February.
    expect(readMrz(leap('000229'), new Date('1999-06-01T00:00:00Z')).status).toBe('unreadable');
  });
});

describe('names', () => {
  it('gives the MRZ forms of a typed name (ICAO transliteration and plain letters)', () => {
    expect(mrzNameForms('Müller')).toEqual(['MUELLER', 'MULLER']);
    expect(mrzNameForms("O'Brien-Smith")).toEqual(['OBRIEN SMITH']);
    expect(mrzNameForms('Øre Straße Þór')).toEqual(['OERE STRASSE THOR']);
    expect(mrzNameForms('  anna   maria ')).toEqual(['ANNA MARIA']);
    expect(mrzNameForms('Ångström')).toEqual(['AANGSTROEM', 'ANGSTROM']);
  });

  it('matches typed names against MRZ names, prefixes only when truncated', () => {
    expect(nameMatchesMrz('Anna-Maria', 'ANNA MARIA', false)).toBe(true);
    expect(nameMatchesMrz('Müller', 'MUELLER', false)).toBe(true);
    expect(nameMatchesMrz('Müller', 'MULLER', false)).toBe(true);
    expect(nameMatchesMrz('Anna', 'ANNA MARIA', false)).toBe(false);
    expect(nameMatchesMrz('Hubert Blaine Wolfe', 'HUBERT BLAINE W', true)).toBe(true);
    expect(nameMatchesMrz('Hubert Blaine Wolfe', 'HUBERT BLAINE W', false)).toBe(false);
    expect(nameMatchesMrz('Иван', 'IVAN', false)).toBe(false);
  });
});
