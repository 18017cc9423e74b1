// Fuses a run of record-at-a-time operators (map, flatMap, filter, ...) into one push function,
// so a batch flows through the whole chain without an intermediate array per operator. Chains
// of the common operators are generated code, one compiled copy per job shape (see `generated`);
// the rest (zipWithIndex, sample) compose closures.
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
  const g = generated(fns, node, sink)
  if (g !== null) return g
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

const GENERATED = new Set<string>(['map', 'flatMap', 'filter', 'mapValues', 'flatMapValues', 'keyBy', 'keys', 'values', 'tagged'])
const factories = new Map<string, (...args: unknown[]) => Emit>()

/**
 * The chain as generated functions, one per operator, each calling the next directly, compiled
 * once per job shape (operators and function sources). The closures below are shared by every
 * job a worker runs, so their call sites see every job's functions and V8 stops inlining them;
 * a generated copy sees only its own job's, and V8 inlines operators, user functions and the sink
 * into one body (and can drop the tuples passed between them). Measured on 50 MB, fused off,
 * worker CPU, median of 4: wc-objects -26%, join -13%, word count -9%.
 */
function generated(fns: ReadonlyMap<number, CompiledFn>, node: PlanNode, sink: Emit): { push: Emit; base: PlanInput } | null {
  const stages: PlanNode[] = []
  let cur: PlanNode = node
  for (;;) {
    if (!GENERATED.has(cur.op)) return null
    stages.unshift(cur)
    const input = (cur as { input: PlanInput }).input
    if (input.kind === 'narrow' && SIMPLE.has(input.node.op)) { cur = input.node; continue }
    const fnArgs: unknown[] = []
    const tagArgs: unknown[] = []
    const sig: string[] = []
    const body: string[] = []
    stages.forEach((st, i) => {
      const nxt = i + 1 < stages.length ? `s${i + 1}` : 'sink'
      let f = ''
      if ('fn' in st) {
        const c = fns.get(st.id) as CompiledFn
        fnArgs.push(c.fn, c.env)
        f = `f${i}`
        const spec = st.fn
        sig.push(spec.kind === 'source' ? spec.source : `${spec.module}#${spec.exportName}`)
      }
      if (st.op === 'tagged') tagArgs.push(st.tag ?? 0)
      sig.push(st.op)
      switch (st.op) {
        case 'map': body.push(`function s${i}(x) { ${nxt}(${f}(x, e${i})) }`); break
        case 'filter': body.push(`function s${i}(x) { if (${f}(x, e${i})) ${nxt}(x) }`); break
        case 'flatMap': body.push(`function s${i}(x) { const r = ${f}(x, e${i}); if (Array.isArray(r)) { for (let j = 0; j < r.length; j++) ${nxt}(r[j]) } else for (const y of r) ${nxt}(y) }`); break
        case 'mapValues': body.push(`function s${i}(x) { ${nxt}([x[0], ${f}(x[1], e${i})]) }`); break
        case 'flatMapValues': body.push(`function s${i}(x) { const k = x[0]; for (const y of ${f}(x[1], e${i})) ${nxt}([k, y]) }`); break
        case 'keyBy': body.push(`function s${i}(x) { ${nxt}([${f}(x, e${i}), x]) }`); break
        case 'keys': body.push(`function s${i}(x) { ${nxt}(x[0]) }`); break
        case 'values': body.push(`function s${i}(x) { ${nxt}(x[1]) }`); break
        case 'tagged': body.push(`function s${i}(x) { ${nxt}([x[0], [t${i}, x[1]]]) }`); break
      }
    })
    const params = ['sink', ...stages.flatMap((st, i) => ('fn' in st ? [`f${i}`, `e${i}`] : [])), ...stages.flatMap((st, i) => (st.op === 'tagged' ? [`t${i}`] : []))]
    const key = `${params.join(',')}\n${sig.join('\n')}`
    let factory = factories.get(key)
    if (factory === undefined) {
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from operator names only; user code is passed in
      factory = new Function(...params, `"use strict"; ${body.join('\n')}\nreturn s0`) as (...args: unknown[]) => Emit
      if (factories.size > 1000) factories.clear()
      factories.set(key, factory)
    }
    return { push: factory(sink, ...fnArgs, ...tagArgs), base: input }
  }
}
