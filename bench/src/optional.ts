import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Imports a module of the product that may not be in the tree yet (read
 * models are built by other engineers at the same time). Undefined when
 * the file is absent, so a suite can leave a figure out with a reason
 * instead of failing the whole run. The path is relative to bench/src/.
 */
export async function importOptional<T>(relativeToBenchSrc: string): Promise<T | undefined> {
  const url = new URL(relativeToBenchSrc, import.meta.url);
  if (!existsSync(fileURLToPath(url))) return undefined;
  return (await import(url.href)) as T;
}
