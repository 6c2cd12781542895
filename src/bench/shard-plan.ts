import { UsageError } from '../errors.js';
import type { Plan } from './plan-points.js';

/** Shard `index` (0-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** `i/n` with 0 ≤ i < n, as given to --shard. */
export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || !Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index >= count) {
    throw new UsageError(`--shard: '${text}' is not i/n with 0 ≤ i < n (e.g. 0/4)`);
  }
  return { index, count };
}

/**
 * Shard of each source of a plan, balanced by estimated cost: sources in decreasing cost (ties
 * by key) each go to the least-loaded shard (ties: the lowest). Depends only on the sources'
 * keys and costs, so every machine running the same command computes the same partition;
 * every point of a source lands in one shard.
 */
export function assignShards(plan: Plan, count: number): number[] {
  const order = plan.sources.map((_, i) => i);
  order.sort((a, b) => {
    const x = plan.sources[a];
    const y = plan.sources[b];
    return y.cost - x.cost || (x.key < y.key ? -1 : x.key > y.key ? 1 : a - b);
  });
  const load = new Array<number>(count).fill(0);
  const shardOf = new Array<number>(plan.sources.length).fill(0);
  // Costless sources (skip rows) are spread round-robin so no shard gets them all.
  let next = 0;
  for (const i of order) {
    const cost = plan.sources[i].cost;
    let best = 0;
    if (cost > 0) {
      for (let s = 1; s < count; s++) if (load[s] < load[best]) best = s;
    } else {
      best = next++ % count;
    }
    shardOf[i] = best;
    load[best] += cost;
  }
  return shardOf;
}

/** The part of a plan one shard runs; its sources keep their planned order. */
export function shardPlan(plan: Plan, shard: Shard): Plan {
  if (shard.count === 1) return plan;
  const shardOf = assignShards(plan, shard.count);
  return { ...plan, sources: plan.sources.filter((_, i) => shardOf[i] === shard.index) };
}
