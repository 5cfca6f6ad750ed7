/** A figure's number as the run's table and BENCHMARKS.md print it: a dash when missing, then 3 significant places or so. */
export function formatNumber(n) {
  if (n === null || n === undefined) return '—';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return Math.abs(n) >= 10 ? n.toFixed(1) : n.toFixed(3);
}
