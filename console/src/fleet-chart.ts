import type { SiteStatus, Stats } from './api.types';

/** Counts by status at one moment. */
export interface Sample {
  at: number;
  stats: Stats;
}

export interface ChartBox {
  width: number;
  height: number;
  /** Room for the axes' labels. */
  margin: { left: number; right: number; top: number; bottom: number };
}

/** One status's band of the stacked chart. */
export interface Band {
  status: SiteStatus;
  /** A closed SVG path: the band's upper edge left to right, its lower edge back. */
  path: string;
}

/** Where a moment and a count fall in the box; `top` is the largest total, the height of the stack. */
export function scales(samples: readonly Sample[], box: ChartBox) {
  const first = samples[0]?.at ?? 0;
  const last = samples.at(-1)?.at ?? first;
  const top = Math.max(1, ...samples.map((sample) => total(sample.stats)));
  const plotWidth = box.width - box.margin.left - box.margin.right;
  const plotHeight = box.height - box.margin.top - box.margin.bottom;
  const x = (at: number) =>
    round(box.margin.left + (last === first ? plotWidth : ((at - first) / (last - first)) * plotWidth));
  const y = (count: number) => round(box.margin.top + plotHeight - (count / top) * plotHeight);
  return { x, y, top };
}

/**
 * The statuses stacked in `statuses` order, each a band whose thickness at a
 * moment is its count. Counts are steps: a sampled count holds until the next
 * sample, so the chart never suggests a site was half deleted in between.
 */
export function bandsOf(samples: readonly Sample[], statuses: readonly SiteStatus[], box: ChartBox): Band[] {
  const { x, y } = scales(samples, box);
  return statuses.map((status, level) => {
    const below = (sample: Sample) => statuses.slice(0, level).reduce((sum, s) => sum + sample.stats.byStatus[s], 0);
    const upper = steps(samples, x, (sample) => y(below(sample) + sample.stats.byStatus[status]));
    const lower = steps(samples, x, (sample) => y(below(sample)));
    const outline = [...upper, ...lower.reverse()];
    const path = outline.map(([px, py], i) => `${i === 0 ? 'M' : 'L'} ${px} ${py}`).join(' ');
    return { status, path: outline.length === 0 ? '' : `${path} Z` };
  });
}

/** The corners of a step line through the samples: across at one sample's height, then up or down at the next. */
function steps(
  samples: readonly Sample[],
  x: (at: number) => number,
  y: (sample: Sample) => number,
): [number, number][] {
  return samples.flatMap((sample, i): [number, number][] => {
    const next = samples[i + 1];
    return next === undefined
      ? [[x(sample.at), y(sample)]]
      : [
          [x(sample.at), y(sample)],
          [x(next.at), y(sample)],
        ];
  });
}

/** The sample nearest to a horizontal position in the box (a click on the chart). */
export function nearestSample(samples: readonly Sample[], box: ChartBox, atX: number): Sample | undefined {
  const { x } = scales(samples, box);
  let best: Sample | undefined;
  for (const sample of samples)
    if (best === undefined || Math.abs(x(sample.at) - atX) < Math.abs(x(best.at) - atX)) best = sample;
  return best;
}

function total(stats: Stats): number {
  return Object.values(stats.byStatus).reduce((sum, n) => sum + n, 0);
}

const round = (value: number): number => Math.round(value * 10) / 10;
