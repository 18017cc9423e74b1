// Least connections with weights: the server with the fewest in-flight requests per unit of
// weight; ties go round robin so an idle pool still spreads load.
import { usable, type Balancer, type BalancerTarget } from './balancer.js'

export class LeastConnectionsBalancer<T extends BalancerTarget> implements Balancer<T> {
  readonly #targets: readonly T[]
  #offset = 0

  constructor(targets: readonly T[]) {
    this.#targets = targets
  }

  pick(_key?: string, skip?: ReadonlySet<T>): T | undefined {
    const n = this.#targets.length
    let best: T | undefined
    let bestScore = Infinity
    for (let i = 0; i < n; i++) {
      const t = this.#targets[(this.#offset + i) % n] as T
      if (!usable(t, skip)) continue
      const score = t.active / t.weight
      if (score < bestScore) {
        bestScore = score
        best = t
      }
    }
    this.#offset = (this.#offset + 1) % Math.max(1, n)
    return best
  }
}
