/**
 * Every item of a listing: follows `nextCursor` page after page until the
 * last (the API leaves it out there), or until `max` items.
 */
export async function allPages<P extends { nextCursor?: string }, T>(
  fetchPage: (cursor: string | undefined, limit: number) => Promise<P>,
  itemsOf: (page: P) => T[],
  { pageSize, max = Infinity }: { pageSize: number; max?: number | undefined },
): Promise<{ items: T[]; first: P | undefined }> {
  const items: T[] = [];
  let cursor: string | undefined;
  let first: P | undefined;
  do {
    const page = await fetchPage(cursor, Math.min(pageSize, max - items.length));
    first ??= page;
    items.push(...itemsOf(page));
    cursor = page.nextCursor;
  } while (cursor !== undefined && items.length < max);
  return { items: items.slice(0, max), first };
}
