// Consistent hashing on a ring of virtual nodes (Ketama style): each server owns 100 x weight
// points; a key goes to the first point clockwise whose server is available. When a server
// leaves, only the keys it owned move; everybody else's keys stay put.
import { hash32, usable, type Balancer, type BalancerTarget } from './balancer.js'

const POINTS_PER_WEIGHT = 100

export class ConsistentHashBalancer<T extends BalancerTarget> implements Balancer<T> {
  readonly #targets: readonly T[]
  readonly #points: Uint32Array
  readonly #owners: Uint16Array
  #counter = 0

  constructor(targets: readonly T[]) {
    this.#targets = targets
    const pairs: [number, number][] = []
    targets.forEach((t, idx) => {
      const n = POINTS_PER_WEIGHT * Math.max(1, t.weight)
      for (let v = 0; v < n; v++) pairs.push([hash32(`${t.id}#${v}`), idx])
    })
    pairs.sort((a, b) => a[0] - b[0])
    this.#points = Uint32Array.from(pairs, (p) => p[0])
    this.#owners = Uint16Array.from(pairs, (p) => p[1])
  }

  pick(key?: string, skip?: ReadonlySet<T>): T | undefined {
    const pts = this.#points
    if (pts.length === 0) return undefined
    // No key (e.g. no cookie yet): spread by a counter rather than piling onto one server.
    const h = key === undefined ? hash32(String(this.#counter++)) : hash32(key)
    let lo = 0
    let hi = pts.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((pts[mid] as number) < h) lo = mid + 1
      else hi = mid
    }
    for (let i = 0; i < pts.length; i++) {
      const t = this.#targets[this.#owners[(lo + i) % pts.length] as number] as T
      if (usable(t, skip)) return t
    }
    return undefined
  }
}
