// Round robin: each available server in turn, ignoring weights (weight 0 still means never).
import { usable, type Balancer, type BalancerTarget } from './balancer.js'

export class RoundRobinBalancer<T extends BalancerTarget> implements Balancer<T> {
  readonly #targets: readonly T[]
  #next = 0

  constructor(targets: readonly T[]) {
    this.#targets = targets
  }

  pick(_key?: string, skip?: ReadonlySet<T>): T | undefined {
    const n = this.#targets.length
    for (let i = 0; i < n; i++) {
      const idx = (this.#next + i) % n
      const t = this.#targets[idx] as T
      if (usable(t, skip)) {
        this.#next = (idx + 1) % n
        return t
      }
    }
    return undefined
  }
}
