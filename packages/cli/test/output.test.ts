import { describe, expect, it } from 'vitest';
import { columns, fields, printable, table } from '../src/output.js';

describe('printable', () => {
  it('escapes C0, DEL and C1 control characters', () => {
    expect(printable('a\u001b[31mred\nb\u007f\u009bc\td')).toBe(
      'a\\u001b[31mred\\u000ab\\u007f\\u009bc\\u0009d',
    );
  });

  it('keeps other text, including non-ASCII', () => {
    expect(printable('Café 漢字 org_1 — ok')).toBe('Café 漢字 org_1 — ok');
  });
});

describe('columns and tables', () => {
  it('aligns every column but the last, two spaces apart, without trailing spaces', () => {
    expect(
      table(
        ['ID', 'NAME', 'CREATED'],
        [
          ['org_1', 'Acme Corporation', '2030-01-01'],
          ['org_22', 'B', '2030-01-02'],
        ],
      ),
    ).toBe(
      'ID      NAME              CREATED\n' +
        'org_1   Acme Corporation  2030-01-01\n' +
        'org_22  B                 2030-01-02\n',
    );
  });

  it('measures width in code points and after escaping', () => {
    expect(
      columns([
        ['Zoë', 'x'],
        ['\u0007', 'y'],
        ['ab', 'z'],
      ]),
    ).toBe('Zoë     x\n\\u0007  y\nab      z\n');
  });

  it('prints fields as aligned "label:" lines with "-" for null', () => {
    expect(
      fields([
        ['id', 'key_1'],
        ['last used', null],
      ]),
    ).toBe('id:         key_1\nlast used:  -\n');
  });
});
