/** Text primitives: colours, aligned tables, durations and sizes. Pure, so specs read what a user sees. */

export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

const ansi =
  (open: number, close: number) =>
  (text: string): string =>
    `\x1b[${open}m${text}\x1b[${close}m`;

export const COLOURS: Style = {
  bold: ansi(1, 22),
  dim: ansi(2, 22),
  red: ansi(31, 39),
  green: ansi(32, 39),
  yellow: ansi(33, 39),
  cyan: ansi(36, 39),
};

const same = (text: string): string => text;
export const PLAIN: Style = { bold: same, dim: same, red: same, green: same, yellow: same, cyan: same };

/**
 * Colours only for a person at a terminal, and never when NO_COLOR is set
 * to anything (https://no-color.org): a pipe, a file or a CI log gets plain text.
 */
export function styleFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): Style {
  return stream.isTTY === true && !env['NO_COLOR'] ? COLOURS : PLAIN;
}

const ANSI = /\x1b\[[0-9;]*m/g;
/** Columns a line takes on a terminal: its colour codes take none. */
export const visibleLength = (text: string): number => text.replace(ANSI, '').length;

/** Rows under a header, columns padded to their widest cell (colours do not count); the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], style: Style): string[] {
  const widths = header.map((title, column) =>
    Math.max(visibleLength(title), ...rows.map((row) => visibleLength(row[column] ?? ''))),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        column === cells.length - 1 ? cell : cell + ' '.repeat(widths[column]! - visibleLength(cell)),
      )
      .join('  ')
      .trimEnd();
  return [style.bold(line(header)), ...rows.map(line)];
}

/** `label  value` pairs, labels aligned. */
export function fields(pairs: readonly (readonly [string, string])[], style: Style): string[] {
  const width = Math.max(...pairs.map(([label]) => label.length));
  return pairs.map(([label, value]) => `${style.dim(label.padEnd(width))}  ${value}`);
}

/** 0.4s, 12.3s, 2m05s, 1h02m. */
export function duration(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(Math.floor(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** 812 B, 4.2 kB, 31.0 MB (powers of 1000, as `ls -h --si`). */
export function bytes(count: number): string {
  if (count < 1000) return `${count} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = count;
  let unit = -1;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** A few IDs, then how many more: a wave of 500 sites stays one line. */
export function idList(ids: readonly string[], shown = 5): string {
  if (ids.length <= shown) return ids.join(' ');
  return `${ids.slice(0, shown).join(' ')} … (+${ids.length - shown} more)`;
}

/** A status word in the colour of what it means to an operator. */
export function statusText(status: string, style: Style): string {
  switch (status) {
    case 'active':
    case 'completed':
      return style.green(status);
    case 'suspended':
    case 'paused':
    case 'planned':
    case 'approved':
    case 'pending':
      return style.yellow(status);
    case 'running':
      return style.cyan(status);
    case 'deleted':
    case 'aborted':
    case 'rejected':
    case 'rolled-back':
    case 'cancelled':
      return style.red(status);
    default:
      return status;
  }
}
