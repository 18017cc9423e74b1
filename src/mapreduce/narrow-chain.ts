// Fuses a run of record-at-a-time operators (map, flatMap, filter, ...) into one push function,
// so a batch flows through the whole chain without an intermediate array per operator.
import type { CompiledFn } from './closure.js'
import type { PlanInput, PlanNode } from './task-spec.js'
import type { Emit } from './task-batches.js'
import { prng } from '../internal/prng.js'

const SIMPLE = new Set<string>(['map', 'flatMap', 'filter', 'mapValues', 'flatMapValues', 'keyBy', 'keys', 'values', 'tagged', 'zipWithIndex', 'sample'])

/**
 * The push function for partition p of `node` and the chain below it, feeding `sink`, and the
 * input the chain reads; null when `node` is not a fusable operator.
 */
export function chain(fns: ReadonlyMap<number, CompiledFn>, node: PlanNode, p: number, sink: Emit): { push: Emit; base: PlanInput } | null {
  if (!SIMPLE.has(node.op)) return null
  let push = sink
  let cur: PlanNode = node
  for (;;) {
    push = stage(fns, cur, p, push)
    const input = (cur as { input: PlanInput }).input
    if (input.kind === 'narrow' && SIMPLE.has(input.node.op)) { cur = input.node; continue }
    return { push, base: input }
  }
}

function stage(fns: ReadonlyMap<number, CompiledFn>, node: PlanNode, p: number, next: Emit): Emit {
  const fnOf = (n: PlanNode): CompiledFn => fns.get(n.id) as CompiledFn
  switch (node.op) {
    case 'map': { const { fn, env } = fnOf(node); return (x) => next(fn(x, env)) }
    case 'filter': { const { fn, env } = fnOf(node); return (x) => { if (fn(x, env)) next(x) } }
    case 'flatMap': {
      const { fn, env } = fnOf(node)
      return (x) => {
        const r = fn(x, env) as Iterable<unknown>
        if (Array.isArray(r)) for (let j = 0; j < r.length; j++) next(r[j])
        else for (const y of r) next(y)
      }
    }
    case 'mapValues': { const { fn, env } = fnOf(node); return (x) => { const r = x as [unknown, unknown]; next([r[0], fn(r[1], env)]) } }
    case 'flatMapValues': {
      const { fn, env } = fnOf(node)
      return (x) => { const r = x as [unknown, unknown]; for (const y of fn(r[1], env) as Iterable<unknown>) next([r[0], y]) }
    }
    case 'keyBy': { const { fn, env } = fnOf(node); return (x) => next([fn(x, env), x]) }
    case 'keys': return (x) => next((x as unknown[])[0])
    case 'values': return (x) => next((x as unknown[])[1])
    case 'tagged': { const tag = node.tag ?? 0; return (x) => { const r = x as [unknown, unknown]; next([r[0], [tag, r[1]]]) } }
    case 'zipWithIndex': { let i = node.offsets[p] ?? 0; return (x) => next([x, i++]) }
    case 'sample': {
      const rand = prng(node.seed * 1_000_003 + p)
      const f = node.fraction
      if (!node.withReplacement) return (x) => { if (rand() < f) next(x) }
      return (x) => {
        // Poisson(fraction) copies by inversion.
        let k = 0
        let prob = Math.exp(-f)
        let cum = prob
        const u = rand()
        while (u > cum && k < 1000) { k++; prob *= f / k; cum += prob }
        for (let j = 0; j < k; j++) next(x)
      }
    }
    default: throw new Error(`Operator ${node.op} cannot be fused`)
  }
}
