import { describe, expect, it } from 'vitest';
import { RowCounter } from './export-progress.js';
import { parseIds } from './options.js';
import { bytes, COLOURS, duration, idList, PLAIN, styleFor, table } from './render.js';
import { problemLines, verifyLines } from './views.js';

describe('colours', () => {
  it('only on a terminal, and never with NO_COLOR set', () => {
    expect(styleFor({ isTTY: true }, {})).toBe(COLOURS);
    expect(styleFor({ isTTY: true }, { NO_COLOR: '1' })).toBe(PLAIN);
    expect(styleFor({ isTTY: false }, {})).toBe(PLAIN);
    expect(styleFor({}, {})).toBe(PLAIN);
    // no-color.org: an empty NO_COLOR does not count
    expect(styleFor({ isTTY: true }, { NO_COLOR: '' })).toBe(COLOURS);
  });
});

describe('table', () => {
  it('pads every column but the last to its widest cell, colour codes not counted', () => {
    expect(
      table(
        ['ID', 'STATUS', 'NAME'],
        [
          ['site-1', COLOURS.green('active'), 'Acme'],
          ['s-22', 'deleted', ''],
        ],
        COLOURS,
      ),
    ).toEqual([COLOURS.bold('ID      STATUS   NAME'), `site-1  ${COLOURS.green('active')}   Acme`, 's-22    deleted']);
  });
});

describe('figures', () => {
  it('durations read at a glance', () => {
    expect([0, 420, 12_340, 125_000, 3_720_000].map(duration)).toEqual(['0.0s', '0.4s', '12.3s', '2m05s', '1h02m']);
    expect(duration(-5)).toBe('0.0s');
  });

  it('sizes in powers of 1000', () => {
    expect([0, 999, 4_200, 31_000_000].map(bytes)).toEqual(['0 B', '999 B', '4.2 kB', '31.0 MB']);
  });

  it('a long list of IDs stays one line', () => {
    expect(idList(['a', 'b'])).toBe('a b');
    expect(idList(['a', 'b', 'c', 'd'], 2)).toBe('a b … (+2 more)');
  });
});

describe('errors', () => {
  it('a refused plan: one sentence with the code, every problem, and the operation that records it', () => {
    expect(
      problemLines({
        status: 422,
        code: 'operation.rejected',
        detail: 'plan op_1 rejected as a whole: 2 problem(s); nothing will be deleted',
        errors: [
          { id: 'inst-42', problem: 'not-a-site', detail: 'inst-42 is a product installation on site site-1001' },
          { id: 'x', problem: 'unknown-id', detail: 'x is unknown' },
        ],
        operationId: 'op_1',
      }),
    ).toEqual([
      'error: operation.rejected — plan op_1 rejected as a whole: 2 problem(s); nothing will be deleted',
      '  - inst-42: not-a-site — inst-42 is a product installation on site site-1001',
      '  - x: unknown-id — x is unknown',
      'the refusal is recorded as operation op_1',
    ]);
  });

  it('bad input names the field', () => {
    expect(
      problemLines({
        status: 400,
        code: 'request.invalid',
        detail: 'invalid request: asOf',
        errors: [{ field: 'asOf', problem: 'invalid', detail: 'asOf must be an RFC 3339 time' }],
      }),
    ).toEqual(['error: request.invalid — invalid request: asOf', '  - asOf: invalid — asOf must be an RFC 3339 time']);
  });
});

describe('verify', () => {
  const base = { streams: 3, events: 12, checkpoint: { size: 10, root: 'r' }, current: { size: 12, root: 's' } };

  it('says the log extends the kept checkpoint', () => {
    expect(verifyLines({ ...base, ok: true, consistent: true }, PLAIN, 'the checkpoint kept in cp.txt')).toEqual([
      'checked 12 events in 3 streams',
      'the log (size 12) extends the checkpoint kept in cp.txt (size 10)',
      'every hash chain holds',
    ]);
  });

  it('names the first leaf that changed when it does not', () => {
    const lines = verifyLines(
      { ...base, ok: false, consistent: false, divergesAt: { index: 4, reason: 'changed', eventId: 'e-5' } },
      PLAIN,
      'the checkpoint kept in cp.txt',
    );
    expect(lines[1]).toBe(
      'the log (size 12) does NOT extend the checkpoint kept in cp.txt (size 10): leaf 4 is changed (event e-5)',
    );
  });

  it('names a broken chain', () => {
    const lines = verifyLines(
      { ok: false, streams: 3, events: 12, brokenAt: { streamId: 'site-a', version: 2, eventId: 'e-2' } },
      PLAIN,
    );
    expect(lines).toEqual(['checked 12 events in 3 streams', 'a hash chain is broken at site-a version 2 (event e-2)']);
  });
});

describe('audit export rows', () => {
  const count = (format: 'ndjson' | 'csv', chunks: string[]) => {
    const counter = new RowCounter(format);
    for (const chunk of chunks) counter.add(Buffer.from(chunk));
    return { rows: counter.rows, bytes: counter.bytes };
  };

  it('NDJSON: a row a line, however the chunks fall', () => {
    expect(count('ndjson', ['{"a":1}\n{"a"', ':2}\n'])).toEqual({ rows: 2, bytes: 16 });
  });

  it('CSV: the header is not a row, and a quoted newline (a multi-line reason) does not end one', () => {
    expect(count('csv', ['position,reason\n', '1,"two\nlines"\n2,"say ""', 'hi"""\n'])).toEqual({ rows: 2, bytes: 45 });
  });
});

describe('the IDs file of a plan', () => {
  it('takes IDs a line or several a line, spaces or commas, and skips comments', () => {
    expect(parseIds('# churned customers\nsite-1\nsite-2, site-3  site-4\n\n  site-5 # the last\n')).toEqual([
      'site-1',
      'site-2',
      'site-3',
      'site-4',
      'site-5',
    ]);
  });

  it('keeps duplicates: the plan must refuse them by name', () => {
    expect(parseIds('a\na\n')).toEqual(['a', 'a']);
  });
});
