// One conformance suite for every balancing policy (the hono router idea), then the property that
// makes each policy what it is.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { balancers, type BalancerPolicy, type BalancerTarget } from '../../../src/proxy/balancers/index.js'
import { P2cEwmaBalancer } from '../../../src/proxy/balancers/p2c-ewma.js'

interface T extends BalancerTarget {
  id: string
  weight: number
  available: boolean
  active: number
  latencyMs: number
}

function targets(n: number, weights: number[] = []): T[] {
  return Array.from({ length: n }, (_, i) => ({ id: `s${i}`, weight: weights[i] ?? 1, available: true, active: 0, latencyMs: 0 }))
}

const HASHING = new Set<BalancerPolicy>(['consistent-hash', 'maglev'])
const policies = Object.keys(balancers) as BalancerPolicy[]

function counts(picks: (T | undefined)[]): Map<string, number> {
  const m = new Map<string, number>()
  for (const p of picks) m.set(p?.id ?? 'none', (m.get(p?.id ?? 'none') ?? 0) + 1)
  return m
}

for (const policy of policies) {
  describe(`balancer conformance: ${policy}`, () => {
    const make = (t: T[]) => balancers[policy](t)
    const key = (i: number) => (HASHING.has(policy) ? `client-${i}` : undefined)

    test('never picks an unavailable or zero-weight server', () => {
      const t = targets(4, [1, 0, 1, 1])
      ;(t[2] as T).available = false
      const b = make(t)
      for (let i = 0; i < 500; i++) {
        const p = b.pick(key(i))
        assert.ok(p !== undefined && p.id !== 's1' && p.id !== 's2', `picked ${p?.id}`)
      }
    })

    test('returns undefined when nothing is available, and recovers when one comes back', () => {
      const t = targets(3)
      for (const x of t) x.available = false
      const b = make(t)
      assert.equal(b.pick(key(1)), undefined)
      ;(t[1] as T).available = true
      assert.equal(b.pick(key(1))?.id, 's1')
    })

    test('honours the skip set (retries go elsewhere)', () => {
      const t = targets(3)
      const b = make(t)
      for (let i = 0; i < 200; i++) {
        const first = b.pick(key(i))
        assert.ok(first !== undefined)
        const second = b.pick(key(i), new Set([first]))
        assert.ok(second !== undefined && second !== first)
      }
      assert.equal(b.pick(key(0), new Set(t)), undefined)
    })

    test('spreads load over every server (no server starves)', () => {
      const t = targets(5)
      const b = make(t)
      const c = counts(Array.from({ length: 5000 }, (_, i) => b.pick(key(i))))
      for (const x of t) assert.ok((c.get(x.id) ?? 0) > 500, `${x.id} got ${c.get(x.id) ?? 0} of 5000`)
    })

    test('a single server gets everything', () => {
      const t = targets(1)
      const b = make(t)
      for (let i = 0; i < 50; i++) assert.equal(b.pick(key(i)), t[0])
    })
  })
}

describe('policy properties', () => {
  test('round robin is exactly even', () => {
    const t = targets(3)
    const b = balancers['round-robin'](t)
    assert.deepEqual(Array.from({ length: 6 }, () => b.pick()?.id), ['s0', 's1', 's2', 's0', 's1', 's2'])
  })

  test('smooth weighted round robin interleaves 5:1:1 like nginx and keeps exact proportions', () => {
    const t = targets(3, [5, 1, 1])
    const b = balancers['weighted-round-robin'](t)
    assert.deepEqual(Array.from({ length: 7 }, () => b.pick()?.id), ['s0', 's0', 's1', 's0', 's2', 's0', 's0'])
    const c = counts(Array.from({ length: 7000 }, () => b.pick()))
    assert.deepEqual([c.get('s0'), c.get('s1'), c.get('s2')], [5000, 1000, 1000])
  })

  test('least connections picks the least loaded per unit of weight', () => {
    const t = targets(3, [1, 1, 4])
    const b = balancers['least-connections'](t)
    ;(t[0] as T).active = 3
    ;(t[1] as T).active = 1
    ;(t[2] as T).active = 6 // 1.5 per weight
    assert.equal(b.pick()?.id, 's1')
    ;(t[1] as T).active = 2 // 2 > 1.5
    assert.equal(b.pick()?.id, 's2')
    // Simulate load that holds connections: the weight-4 server ends up with ~4x the in-flight count.
    for (const x of t) x.active = 0
    for (let i = 0; i < 600; i++) {
      const p = b.pick() as T
      p.active++
    }
    assert.ok(Math.abs((t[2] as T).active - 400) <= 4, `weight-4 server holds ${(t[2] as T).active}`)
  })

  for (const policy of ['consistent-hash', 'maglev'] as const) {
    test(`${policy}: same key, same server; a leaving server only moves its own keys`, () => {
      const t = targets(5)
      const b = balancers[policy](t)
      const before = Array.from({ length: 4000 }, (_, i) => b.pick(`10.0.${i >> 8}.${i & 255}`) as T)
      for (let i = 0; i < 4000; i++) assert.equal(b.pick(`10.0.${i >> 8}.${i & 255}`), before[i])
      ;(t[2] as T).available = false
      let moved = 0
      let movedForeign = 0
      for (let i = 0; i < 4000; i++) {
        const now = b.pick(`10.0.${i >> 8}.${i & 255}`) as T
        if (now !== before[i]) {
          moved++
          if (before[i]?.id !== 's2') movedForeign++
        }
      }
      const owned = before.filter((x) => x.id === 's2').length
      assert.ok(owned > 400, `s2 owned ${owned}`)
      assert.equal(moved, owned + movedForeign)
      // Ring: zero foreign moves. Maglev: near-minimal (paper: a few percent).
      assert.ok(movedForeign <= 4000 * 0.05, `${movedForeign} keys of other servers moved`)
      if (policy === 'consistent-hash') assert.equal(movedForeign, 0)
      ;(t[2] as T).available = true
      for (let i = 0; i < 4000; i++) assert.equal(b.pick(`10.0.${i >> 8}.${i & 255}`), before[i])
    })
  }

  test('p2c prefers the lower-latency server, and in-flight load counts', () => {
    const t = targets(2)
    ;(t[0] as T).latencyMs = 50
    ;(t[1] as T).latencyMs = 5
    let seed = 1
    const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647)
    const b = new P2cEwmaBalancer(t, rnd)
    const c = counts(Array.from({ length: 100 }, () => b.pick()))
    assert.equal(c.get('s1'), 100)
    ;(t[1] as T).active = 20 // 5 ms x 21 > 50 ms x 1
    assert.equal(b.pick()?.id, 's0')
    // Three servers: the slowest is never chosen because it loses every pairing it is in.
    const t3 = targets(3)
    ;(t3[0] as T).latencyMs = 100
    ;(t3[1] as T).latencyMs = 10
    ;(t3[2] as T).latencyMs = 20
    const b3 = new P2cEwmaBalancer(t3, rnd)
    const c3 = counts(Array.from({ length: 3000 }, () => b3.pick()))
    assert.equal(c3.get('s0') ?? 0, 0)
    assert.ok((c3.get('s1') ?? 0) > (c3.get('s2') ?? 0))
  })
})
