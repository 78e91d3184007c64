import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url);
const pages = ['README.md', ...readdirSync(new URL('docs/', root)).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);

/** Cells of a table row as GitHub renders it: `|` splits cells, also inside `code`, unless escaped. */
function cells(row: string): number {
  return row
    .trim()
    .replace(/\\\|/g, '')
    .replace(/^\||\|$/g, '')
    .split('|').length;
}

describe.each(pages)('%s tables', (page) => {
  const lines = readFileSync(new URL(page, root), 'utf8').split('\n');
  const tables: { start: number; rows: string[] }[] = [];
  let fenced = false;
  lines.forEach((line, i) => {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced || !line.trim().startsWith('|')) return;
    const last = tables.at(-1);
    if (last && last.start + last.rows.length === i) last.rows.push(line);
    else tables.push({ start: i, rows: [line] });
  });

  it('gives every row as many cells as its header', () => {
    for (const t of tables) {
      const header = cells(t.rows[0] ?? '');
      for (const [k, row] of t.rows.entries()) {
        expect({ line: t.start + k + 1, cells: cells(row) }).toEqual({
          line: t.start + k + 1,
          cells: header,
        });
      }
    }
  });
});
