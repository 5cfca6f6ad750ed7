import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { UsageError } from './api-client.js';

/** For commander: a whole number ≥ 1, or a usage error naming the value. */
export function positiveInteger(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < 1) {
    throw new InvalidArgumentError(`expected a whole number of at least 1, got "${value}"`);
  }
  return number;
}

/** For commander: seconds, fractions allowed (`--timeout 0.5`). */
export function positiveSeconds(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number <= 0) {
    throw new InvalidArgumentError(`expected a number of seconds above 0, got "${value}"`);
  }
  return number;
}

/**
 * The IDs of a file (`-` for stdin) as an operator writes them: one or more
 * a line, separated by spaces or commas; `#` starts a comment. The order is
 * kept and nothing is removed: duplicates are the service's to refuse, so
 * the plan's refusal names them.
 */
export function parseIds(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, ''))
    .flatMap((line) => line.split(/[\s,]+/))
    .filter((id) => id !== '');
}

export function readIdsFile(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read the IDs file ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const ids = parseIds(text);
  if (ids.length === 0) throw new UsageError(`the IDs file ${file} holds no IDs`);
  return ids;
}
