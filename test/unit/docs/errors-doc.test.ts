import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCatalogue } from '../../../src/errors/errors.ts';

const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const catalogueCodes = Object.keys(errorCatalogue);
const docCodes = [...new Set(doc.match(/DR_ERR_[A-Z_]+/g) ?? [])];
/** Codes that head a table row: `| \`DR_ERR_…\` |` (cells may be padded by a formatter). */
const rowPattern = /^\|\s*`(DR_ERR_[A-Z_]+)`\s*\|/;
const rows = doc.split('\n').filter((line) => rowPattern.test(line));
const rowCodes = rows.map((line) => rowPattern.exec(line)?.[1]);

describe('docs/errors.md', () => {
  it.each(catalogueCodes)('documents %s in a table row', (code) => {
    expect(rowCodes).toContain(code);
  });

  it.each(docCodes)('mentions %s, which exists in the catalogue', (code) => {
    expect(catalogueCodes).toContain(code);
  });

  it('has exactly one row per catalogue code', () => {
    expect([...rowCodes].sort()).toEqual([...catalogueCodes].sort());
  });

  it.each(Object.entries(errorCatalogue).filter(([, spec]) => 'closeCode' in spec || 'status' in spec))(
    'gives the status / close code of %s',
    (code, spec) => {
      const row = rows.find((line) => rowPattern.exec(line)?.[1] === code) ?? '';
      const cell = row.split('|')[2] ?? '';
      if ('closeCode' in spec) expect(cell).toContain(`WS ${spec.closeCode}`);
      if ('status' in spec) expect(cell).toContain(`HTTP ${spec.status}`);
    },
  );
});
