/**
 * Machine-readable zones (ICAO Doc 9303, 8th ed.): our own check-digit function (Part 3), and a reader
 * for the three ICAO formats — TD1 (cards, 3 × 30), TD2 (2 × 36), TD3 (passports, 2 × 44). The `mrz`
 * package finds the format and extracts the fields; every check digit is then recomputed here from the
 * positions the standard fixes, so a parser bug cannot turn a bad digit into a pass.
 */
import { type Details, type FieldName, parse } from 'mrz';
import type { DocumentType } from './types.js';

const WEIGHTS = [7, 3, 1] as const;

/** ICAO 9303 Part 3: `0–9` → 0–9, `A–Z` → 10–35, `<` → 0; weights 7, 3, 1 repeating; sum mod 10. */
export function mrzCheckDigit(value: string): number {
  let sum = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    let charValue: number;
    if (code >= 48 && code <= 57) charValue = code - 48;
    else if (code >= 65 && code <= 90) charValue = code - 55;
    else if (code === 60) charValue = 0;
    // The position only: the value may be personal data.
    else throw new RangeError(`Character ${i + 1} is not in the MRZ character set (A-Z, 0-9, <).`);
    sum += charValue * (WEIGHTS[i % 3] as number);
  }
  return sum % 10;
}

export type MrzFormat = 'TD1' | 'TD2' | 'TD3';

/** Whether each check digit matches what we compute; `personalNumber` exists in TD3 only. */
export interface MrzCheckDigits {
  documentNumber: boolean;
  dateOfBirth: boolean;
  expiresOn: boolean;
  personalNumber: boolean | null;
  composite: boolean;
}

export interface MrzData {
  format: MrzFormat;
  /** `P`, `PN`, `I`, `ID`, `IR`, `AC`… (fillers removed). */
  documentCode: string;
  /** PASSPORT for `P…`; RESIDENCE_PERMIT for `AR`/`CR`/`IR`; ID_CARD for other `A`/`C`/`I` codes. */
  documentType: DocumentType;
  /** ISO 3166-1 alpha-3 or an ICAO code (`UTO`, `XXA`, `EUE`); Germany's `D` is given as `DEU`. */
  issuingCountry: string;
  nationality: string;
  /** The full number, a TD1/TD2 number longer than 9 characters included. */
  documentNumber: string;
  /** `<` read as a space: `VAN DER BERG`. */
  lastName: string;
  firstName: string;
  /** The name zone is full: names longer than the zone are cut short there. */
  nameTruncated: boolean;
  /** YYYY-MM-DD, pivoted into the past; null when the MRZ leaves part of it unknown (`<<`). */
  dateOfBirth: string | null;
  /** YYYY-MM-DD, the century nearest to now; null when unknown. */
  expiresOn: string | null;
  checkDigits: MrzCheckDigits;
  checkDigitsValid: boolean;
}

export type MrzReading =
  | { status: 'read'; data: MrzData }
  /** Not an MRZ at all, or one whose fields break the format (bad dates, letters in digit fields…). */
  | { status: 'unreadable'; problem: string }
  /** A machine-readable zone, but not an ICAO one (French ID card before 2021, Swiss/French licences). */
  | { status: 'unsupported'; format: string };

const CHARSET = /^[A-Z0-9<]+$/;
const SHAPES: Record<MrzFormat, { lines: number; length: number }> = {
  TD1: { lines: 3, length: 30 },
  TD2: { lines: 2, length: 36 },
  TD3: { lines: 2, length: 44 },
};
/** Fields whose validity we judge ourselves instead of taking the parser's word. */
const OWN_JUDGEMENT = new Set<FieldName>([
  'documentNumberCheckDigit',
  'birthDateCheckDigit',
  'expirationDateCheckDigit',
  'personalNumberCheckDigit',
  'compositeCheckDigit',
  // The parser knows ISO states only: the specimens' UTO, stateless XXA and the like are valid ICAO codes.
  'issuingState',
  'nationality',
  // ICAO 9303 8th edition added `X` (unspecified); the parser accepts only M, F and <.
  'sex',
]);

/**
 * Reads an MRZ and checks every check digit; `now` anchors the two-digit years (see `pivot*` below).
 * Lines are trimmed; anything else (lower case, spaces inside, OCR look-alikes) is not corrected.
 */
export function readMrz(input: readonly string[], now: Date): MrzReading {
  const lines = input.map((line) => line.trim());
  if (lines.length === 0 || lines.some((line) => !CHARSET.test(line))) {
    return { status: 'unreadable', problem: 'The MRZ has characters outside A-Z, 0-9 and <.' };
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(lines);
  } catch {
    return { status: 'unreadable', problem: 'The MRZ lines do not have the length of any MRZ format.' };
  }
  if (parsed.format !== 'TD1' && parsed.format !== 'TD2' && parsed.format !== 'TD3') {
    return { status: 'unsupported', format: parsed.format };
  }
  const format = parsed.format;
  const shape = SHAPES[format];
  if (lines.length !== shape.lines || lines.some((line) => line.length !== shape.length)) {
    return {
      status: 'unreadable',
      problem: `A ${format} MRZ has ${shape.lines} lines of ${shape.length} characters.`,
    };
  }
  // The parser's messages quote the field's text (personal data): report the label only.
  const broken = parsed.details.find((d) => !d.valid && !(d.field && OWN_JUDGEMENT.has(d.field)));
  if (broken) return { status: 'unreadable', problem: `The MRZ field "${broken.label}" is malformed.` };

  const raw = (field: FieldName): string => rawText(lines, parsed.details, field);
  if (!/^[MFX<]$/.test(raw('sex'))) {
    return { status: 'unreadable', problem: 'The MRZ field "Sex" is malformed.' };
  }
  const issuingCountry = stateCode(raw('issuingState'));
  const nationality = stateCode(raw('nationality'));
  if (!issuingCountry || !nationality) {
    return { status: 'unreadable', problem: 'The MRZ issuing state or nationality is not a state code.' };
  }
  const dateOfBirth = mrzDate(raw('birthDate'), now, pivotBirthYear);
  const expiresOn = mrzDate(raw('expirationDate'), now, pivotExpiryYear);
  if (dateOfBirth === undefined || expiresOn === undefined) {
    return { status: 'unreadable', problem: 'A date in the MRZ does not exist in the calendar.' };
  }

  const digits = checkDigits(format, lines);
  const documentCode = (parsed.fields.documentCode ?? '').replace(/<+$/, '');
  const nameZone = format === 'TD1' ? (lines[2] as string) : (lines[0] as string).slice(5);
  return {
    status: 'read',
    data: {
      format,
      documentCode,
      documentType: documentTypeOf(documentCode),
      issuingCountry,
      nationality,
      documentNumber: digits.documentNumber,
      lastName: parsed.fields.lastName ?? '',
      firstName: parsed.fields.firstName ?? '',
      nameTruncated: !nameZone.endsWith('<'),
      dateOfBirth,
      expiresOn,
      checkDigits: digits.valid,
      checkDigitsValid: Object.values(digits.valid).every((valid) => valid !== false),
    },
  };
}

function rawText(lines: readonly string[], details: readonly Details[], field: FieldName): string {
  const detail = details.find((d) => d.field === field);
  const range = detail?.ranges[0];
  if (!range) return '';
  return (lines[range.line] ?? '').slice(range.start, range.end);
}

/** `UTO` → `UTO`, `D<<` → `DEU` (Germany's code in Doc 9303 is `D`); anything else → undefined. */
function stateCode(text: string): string | undefined {
  const code = text.replace(/<+$/, '');
  if (code === 'D') return 'DEU';
  return /^[A-Z]{3}$/.test(code) ? code : undefined;
}

function documentTypeOf(code: string): DocumentType {
  if (code.startsWith('P')) return 'PASSPORT';
  // EU residence permits (Regulation 1030/2002) are coded `IR`, `AR` or `CR`.
  if (code.length === 2 && code.endsWith('R')) return 'RESIDENCE_PERMIT';
  return 'ID_CARD';
}

function digitMatches(value: string, checkChar: string | undefined): boolean {
  return checkChar !== undefined && /^[0-9]$/.test(checkChar) && mrzCheckDigit(value) === Number(checkChar);
}

/**
 * A document number's check. A number longer than 9 characters (TD1/TD2 only) puts `<` in the check
 * digit's place and continues in the optional data, followed by its check digit and a filler (Parts 5
 * and 6). Some Portuguese and Belgian cards compute that digit over the number with the
 * `<` included, against the standard; both forms are accepted, as cheminfo/mrz does.
 */
function documentNumberCheck(
  first9: string,
  checkChar: string,
  overflow: string | null,
): { number: string; valid: boolean } {
  if (checkChar !== '<' || overflow === null) {
    return { number: first9.replace(/<+$/, ''), valid: digitMatches(first9, checkChar) };
  }
  const fillerAt = overflow.indexOf('<');
  const end = fillerAt === -1 ? overflow.length : fillerAt;
  if (end < 2) return { number: first9, valid: false };
  const rest = overflow.slice(0, end - 1);
  const digit = overflow.charAt(end - 1);
  const number = first9 + rest;
  return { number, valid: digitMatches(number, digit) || digitMatches(`${first9}<${rest}`, digit) };
}

/** Every check digit of an ICAO MRZ, from the positions of Parts 4–6 (0-based slices below). */
function checkDigits(
  format: MrzFormat,
  lines: readonly string[],
): { documentNumber: string; valid: MrzCheckDigits } {
  const l1 = lines[0] as string;
  const l2 = lines[1] as string;
  if (format === 'TD1') {
    const document = documentNumberCheck(l1.slice(5, 14), l1.charAt(14), l1.slice(15, 30));
    return {
      documentNumber: document.number,
      valid: {
        documentNumber: document.valid,
        dateOfBirth: digitMatches(l2.slice(0, 6), l2.charAt(6)),
        expiresOn: digitMatches(l2.slice(8, 14), l2.charAt(14)),
        personalNumber: null,
        composite: digitMatches(
          l1.slice(5, 30) + l2.slice(0, 7) + l2.slice(8, 15) + l2.slice(18, 29),
          l2.charAt(29),
        ),
      },
    };
  }
  const overflow = format === 'TD2' ? l2.slice(28, 35) : null;
  const document = documentNumberCheck(l2.slice(0, 9), l2.charAt(9), overflow);
  const end = format === 'TD2' ? 35 : 43;
  let personalNumber: boolean | null = null;
  if (format === 'TD3') {
    const value = l2.slice(28, 42);
    const checkChar = l2.charAt(42);
    // An all-filler personal number may have `<` or `0` as its check digit (ICAO 9303 Part 4).
    personalNumber = /^<+$/.test(value)
      ? checkChar === '<' || checkChar === '0'
      : digitMatches(value, checkChar);
  }
  return {
    documentNumber: document.number,
    valid: {
      documentNumber: document.valid,
      dateOfBirth: digitMatches(l2.slice(13, 19), l2.charAt(19)),
      expiresOn: digitMatches(l2.slice(21, 27), l2.charAt(27)),
      personalNumber,
      composite: digitMatches(l2.slice(0, 10) + l2.slice(13, 20) + l2.slice(21, end), l2.charAt(end)),
    },
  };
}

/** A date of birth is in the past: the latest century that does not put it after today. */
export function pivotBirthYear(yy: number, month: number, day: number, now: Date): number {
  const century = Math.floor(now.getUTCFullYear() / 100) * 100;
  const year = century + yy;
  const today = isoDate(now.getUTCFullYear(), now.getUTCMonth() + 1, now.getUTCDate());
  return isoDate(year, month, day) > today ? year - 100 : year;
}

/**
 * An expiry date is the century that puts it within 50 years either side of now, leaning to the future:
 * documents are valid for at most ~10–15 years, so `30` read in 2026 is 2030 and `12` is 2012 (expired).
 * Always choosing the future would make every expired document look valid.
 */
export function pivotExpiryYear(yy: number, _month: number, _day: number, now: Date): number {
  const current = now.getUTCFullYear();
  let year = Math.floor(current / 100) * 100 + yy;
  if (year < current - 50) year += 100;
  else if (year >= current + 50) year -= 100;
  return year;
}

type Pivot = (yy: number, month: number, day: number, now: Date) => number;

/** `YYMMDD` → `YYYY-MM-DD`; null for a partly unknown date (`<` fillers); undefined for a non-date. */
function mrzDate(text: string, now: Date, pivot: Pivot): string | null | undefined {
  if (text.includes('<')) return null;
  if (!/^[0-9]{6}$/.test(text)) return undefined;
  const yy = Number(text.slice(0, 2));
  const month = Number(text.slice(2, 4));
  const day = Number(text.slice(4, 6));
  const year = pivot(yy, month, day, now);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  return isoDate(year, month, day);
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function isoDate(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** Letters without a decomposition, transliterated as ICAO 9303 Part 3 (transliteration tables) recommends. */
const ICAO_LETTERS: Record<string, string> = {
  Æ: 'AE',
  Ø: 'OE',
  Œ: 'OE',
  Þ: 'TH',
  Ð: 'D',
  Đ: 'D',
  Ł: 'L',
  Ħ: 'H',
  Ŀ: 'L',
  Ŋ: 'N',
  Ĳ: 'IJ',
};
/** Letters with two accepted transliterations: ICAO's (`Ä` → `AE`) and the plain letter (`A`). */
const ICAO_EXPANSIONS: Record<string, string> = { Ä: 'AE', Ö: 'OE', Ü: 'UE', Å: 'AA' };

function replaceLetters(text: string, table: Record<string, string>): string {
  return Array.from(text, (char) => table[char] ?? char).join('');
}

function mrzShape(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/['’`]/g, '')
    .replace(/[^A-Z]+/g, ' ')
    .trim();
}

/**
 * A typed name in the forms an MRZ may hold it: upper case, apostrophes dropped, hyphens and other
 * separators as spaces, accents removed, and both transliterations of `Ä Ö Ü Å`. `Anna-Maria Øre`
 * → `ANNA MARIA OERE`.
 */
export function mrzNameForms(name: string): string[] {
  const upper = replaceLetters(name.normalize('NFC').toUpperCase(), ICAO_LETTERS);
  return [...new Set([mrzShape(replaceLetters(upper, ICAO_EXPANSIONS)), mrzShape(upper)])];
}

/** Whether a typed name is the MRZ's name; a truncated name zone matches the typed name's beginning. */
export function nameMatchesMrz(typed: string, mrzName: string, truncated: boolean): boolean {
  const target = mrzName.replace(/</g, ' ').replace(/\s+/g, ' ').trim();
  return mrzNameForms(typed).some((form) => form === target || (truncated && form.startsWith(target)));
}
