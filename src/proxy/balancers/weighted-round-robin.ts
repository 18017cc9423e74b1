// Smooth weighted round robin (nginx's algorithm): every pick adds each weight to its server's
// current score, takes the highest and subtracts the total, so a 5:1:1 pool goes a a b a c a a
// instead of a a a a a b c.
import { usable, type Balancer, type BalancerTarget } from './balancer.js'

export class WeightedRoundRobinBalancer<T extends BalancerTarget> implements Balancer<T> {
  readonly #targets: readonly T[]
  readonly #current: Float64Array

  constructor(targets: readonly T[]) {
    this.#targets = targets
    this.#current = new Float64Array(targets.length)
  }

  pick(_key?: string, skip?: ReadonlySet<T>): T | undefined {
    let total = 0
    let best = -1
    let bestScore = -Infinity
    const cur = this.#current
    for (let i = 0; i < this.#targets.length; i++) {
      const t = this.#targets[i] as T
      if (!usable(t, skip)) continue
      const score = (cur[i] as number) + t.weight
      cur[i] = score
      total += t.weight
      if (score > bestScore) {
        bestScore = score
        best = i
      }
    }
    if (best < 0) return undefined
    cur[best] = (cur[best] as number) - total
    return this.#targets[best]
  }
}
