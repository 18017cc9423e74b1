// Maglev hashing (Eisenbud et al., NSDI 2016): a lookup table of prime size M filled from each
// server's permutation; O(1) lookups and near-minimal disruption when the available set changes.
// The table is rebuilt lazily when the set of available servers differs from the last build.
import { hash32, usable, type Balancer, type BalancerTarget } from './balancer.js'

const TABLE_SIZE = 65_537 // prime, >> 100 x servers

export class MaglevBalancer<T extends BalancerTarget> implements Balancer<T> {
  readonly #targets: readonly T[]
  readonly #table = new Int32Array(TABLE_SIZE)
  #signature = ''
  #counter = 0

  constructor(targets: readonly T[]) {
    this.#targets = targets
  }

  #build(members: number[]): void {
    const table = this.#table
    table.fill(-1)
    if (members.length === 0) return
    const offsets = members.map((i) => hash32((this.#targets[i] as T).id, 0xabc) % TABLE_SIZE)
    const skips = members.map((i) => (hash32((this.#targets[i] as T).id, 0x123) % (TABLE_SIZE - 1)) + 1)
    const next = new Array<number>(members.length).fill(0)
    // Weighted Maglev: a server with weight w takes w turns per round.
    const turns = members.map((i) => Math.max(1, (this.#targets[i] as T).weight))
    let filled = 0
    while (filled < TABLE_SIZE) {
      for (let m = 0; m < members.length && filled < TABLE_SIZE; m++) {
        for (let w = 0; w < (turns[m] as number) && filled < TABLE_SIZE; w++) {
          let c = ((offsets[m] as number) + (next[m] as number) * (skips[m] as number)) % TABLE_SIZE
          while ((table[c] as number) >= 0) {
            next[m] = (next[m] as number) + 1
            c = ((offsets[m] as number) + (next[m] as number) * (skips[m] as number)) % TABLE_SIZE
          }
          table[c] = members[m] as number
          next[m] = (next[m] as number) + 1
          filled++
        }
      }
    }
  }

  pick(key?: string, skip?: ReadonlySet<T>): T | undefined {
    const members: number[] = []
    let sig = ''
    for (let i = 0; i < this.#targets.length; i++) {
      const t = this.#targets[i] as T
      if (t.available && t.weight > 0) {
        members.push(i)
        sig += `${i}:${t.weight},`
      }
    }
    if (sig !== this.#signature) {
      this.#build(members)
      this.#signature = sig
    }
    if (members.length === 0) return undefined
    const h = key === undefined ? hash32(String(this.#counter++)) : hash32(key)
    const t = this.#targets[this.#table[h % TABLE_SIZE] as number] as T
    if (usable(t, skip)) return t
    // Skipped for this request only (a retry): walk the table rather than rebuild it.
    for (let i = 1; i < TABLE_SIZE; i++) {
      const u = this.#targets[this.#table[(h + i) % TABLE_SIZE] as number] as T
      if (usable(u, skip)) return u
    }
    return undefined
  }
}
