// Partitioners: map a key to a reduce partition. Hash (default), range (sortBy / sortByKey, bounds
// from a sample) and custom (a user function). Equal specs mean co-partitioned datasets, which lets
// joins and cogroups skip the shuffle.
import { compileFn } from './closure.js'
import { hashKey, compareKeys } from './keys.js'
import type { PartitionerSpec } from './task-spec.js'

export type PartitionFn = (key: unknown) => number

export async function compilePartitioner(spec: PartitionerSpec): Promise<PartitionFn> {
  const n = spec.partitions
  switch (spec.kind) {
    case 'hash':
      return n === 1 ? () => 0 : (k) => hashKey(k) % n
    case 'range': {
      const bounds = spec.bounds
      const asc = spec.ascending
      return (k) => {
        // Binary search for the first bound >= k.
        let lo = 0
        let hi = bounds.length
        while (lo < hi) {
          const mid = (lo + hi) >>> 1
          if (compareKeys(bounds[mid], k) < 0) lo = mid + 1
          else hi = mid
        }
        return asc ? lo : n - 1 - lo
      }
    }
    case 'custom': {
      const { fn, env } = await compileFn(spec.fn)
      return (k) => {
        const p = fn(k, n, env) as number
        if (!Number.isInteger(p) || p < 0 || p >= n) throw new Error(`Custom partitioner returned ${String(p)} for a key; expected an integer in [0, ${n})`)
        return p
      }
    }
  }
}

export function samePartitioner(a: PartitionerSpec | undefined, b: PartitionerSpec | undefined): boolean {
  if (a === undefined || b === undefined || a.kind !== b.kind || a.partitions !== b.partitions) return false
  if (a.kind === 'hash') return true
  return JSON.stringify(a) === JSON.stringify(b)
}

/** Range bounds from a sample of keys: partitions-1 evenly spaced quantiles, duplicates removed. */
export function rangeBounds(sample: unknown[], partitions: number): unknown[] {
  const sorted = [...sample].sort(compareKeys)
  const bounds: unknown[] = []
  if (sorted.length === 0) return bounds
  for (let i = 1; i < partitions; i++) {
    const b = sorted[Math.min(sorted.length - 1, Math.floor((i * sorted.length) / partitions))]
    if (bounds.length === 0 || compareKeys(bounds[bounds.length - 1], b) < 0) bounds.push(b)
  }
  return bounds
}
