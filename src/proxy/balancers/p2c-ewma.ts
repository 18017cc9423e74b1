// Power of two choices on EWMA latency: sample two distinct available servers at random and take
// the one with the lower (latency x (in-flight + 1)) / weight, which avoids herding on one server.
import { usable, type Balancer, type BalancerTarget } from './balancer.js'

export class P2cEwmaBalancer<T extends BalancerTarget> implements Balancer<T> {
  readonly #targets: readonly T[]
  readonly #random: () => number
  readonly #scratch: T[] = []

  constructor(targets: readonly T[], random: () => number = Math.random) {
    this.#targets = targets
    this.#random = random
  }

  static score(t: BalancerTarget): number {
    // Unknown latency counts as 1 ms so that fresh servers get tried.
    return ((t.latencyMs > 0 ? t.latencyMs : 1) * (t.active + 1)) / t.weight
  }

  pick(_key?: string, skip?: ReadonlySet<T>): T | undefined {
    const c = this.#scratch
    c.length = 0
    for (const t of this.#targets) if (usable(t, skip)) c.push(t)
    if (c.length <= 1) return c[0]
    const i = Math.floor(this.#random() * c.length)
    let j = Math.floor(this.#random() * (c.length - 1))
    if (j >= i) j++
    const a = c[i] as T
    const b = c[j] as T
    return P2cEwmaBalancer.score(a) <= P2cEwmaBalancer.score(b) ? a : b
  }
}
