#!/usr/bin/env node
// `node bench/render.mjs`: writes the figures of bench/results.json into
// BENCHMARKS.md, between its markers (<!-- results:start --> … <!-- results:end -->
// and likewise targets, postgres-results, facts), so that every number in
// those tables comes from the last run as it was written, never by hand.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatNumber } from './format-number.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const file = join(dirname(benchDir), 'BENCHMARKS.md');
const results = JSON.parse(readFileSync(join(benchDir, 'results.json'), 'utf8'));
const figures = results.filter((row) => row.fact === undefined && row.suite !== 'soak');
const facts = results.filter((row) => row.fact !== undefined && row.suite !== 'soak');

const number = formatNumber;
const cell = (text) => String(text).replaceAll('|', '\\|').replaceAll('\n', ' ');
/** The spread as the suite wrote it in the note: "median of N, ±X%" (and what follows up to the next ';'). */
const spreadOf = (row) => /median of [^;]*/.exec(row.note ?? '')?.[0] ?? (row.note ?? '').split(';')[0];
const loadOf = (row) =>
  row.loadGenerator === undefined
    ? ''
    : `${row.loadGenerator.cpuSeconds.toFixed(1)} s CPU (${(row.loadGenerator.shareOfMachine * 100).toFixed(0)}% of the machine)`;

function table(rows) {
  const withLoad = rows.some((row) => row.loadGenerator !== undefined);
  const head = ['figure', 'value', 'baseline', 'ratio', 'spread', ...(withLoad ? ['load generator'] : [])];
  const lines = rows.map((row) =>
    row.omitted
      ? [row.name, 'omitted', row.omitted, '—', '', ...(withLoad ? [''] : [])]
      : [
          row.name,
          `${number(row.value)} ${row.unit}`,
          row.baseline === null ? '—' : `${number(row.baseline)} (${row.baselineName})`,
          row.ratio === null || row.ratio === undefined ? '—' : `**${row.ratio.toFixed(2)}×**`,
          spreadOf(row),
          ...(withLoad ? [loadOf(row)] : []),
        ],
  );
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...lines.map((l) => `| ${l.map(cell).join(' | ')} |`),
  ].join('\n');
}

function measured(rows) {
  const first = rows[0];
  if (first === undefined) return 'No figures.';
  return `Measured ${first.measuredAt} (${first.mode} run) on ${first.machine ?? 'this machine'}.`;
}

const blocks = {
  results: () => {
    const rows = figures.filter((row) => row.suite !== 'postgres');
    return `${measured(rows)}\n\n${table(rows)}`;
  },
  'postgres-results': () => {
    const rows = figures.filter((row) => row.suite === 'postgres');
    return `${measured(rows)}\n\n${table(rows)}`;
  },
  targets: () => {
    const rows = figures.filter((row) => row.target);
    const lines = rows.map((row) => {
      const value = row.omitted
        ? 'omitted'
        : `${number(row.value)} ${row.unit}${row.ratio == null ? '' : `, ratio ${row.ratio.toFixed(2)}`}`;
      return `| ${cell(row.target)} | ${cell(row.name)} | ${cell(value)} | ${row.met ? 'met' : '**missed**'} |`;
    });
    return ['| target | figure | this run | |', '|---|---|---|---|', ...lines].join('\n');
  },
  facts: () =>
    [
      '| suite | measured | value |',
      '|---|---|---|',
      ...facts.map((row) => `| ${row.suite} | ${cell(row.name)} | ${cell(row.fact)} |`),
    ].join('\n'),
};

let text = readFileSync(file, 'utf8');
for (const [name, render] of Object.entries(blocks)) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) {
    console.error(`render: BENCHMARKS.md has no ${start} … ${end}; left alone`);
    continue;
  }
  text = `${text.slice(0, from + start.length)}\n${render()}\n${text.slice(to)}`;
}
writeFileSync(file, text);
console.log(`written: ${file}`);
