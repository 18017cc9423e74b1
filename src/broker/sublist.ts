// Subject index: a trie keyed by token with separate `*` and `>` children, plus a bounded cache of
// match results keyed by literal subject. SUB/UNSUB invalidate only the cached subjects they match.
import { subjectMatches } from './subject.js'

/** What the index stores; the broker's subscription objects implement this. */
export interface IndexedSub {
  readonly subject: string
  readonly queue: string | undefined
}

export interface MatchResult<S extends IndexedSub> {
  /** Plain subscribers: each gets a copy. */
  readonly psubs: S[]
  /** Queue groups: one member of each gets the message. */
  readonly qsubs: S[][]
  /** Round-robin cursor per queue group, advanced by the broker. */
  readonly cursors: number[]
}

class TrieNode<S extends IndexedSub> {
  next: Map<string, TrieNode<S>> | undefined
  pwc: TrieNode<S> | undefined
  fwc: TrieNode<S> | undefined
  psubs: Set<S> | undefined
  qsubs: Map<string, Set<S>> | undefined

  isEmpty(): boolean {
    return (
      (this.next === undefined || this.next.size === 0) &&
      this.pwc === undefined &&
      this.fwc === undefined &&
      (this.psubs === undefined || this.psubs.size === 0) &&
      (this.qsubs === undefined || this.qsubs.size === 0)
    )
  }
}

export const SUBLIST_CACHE_MAX = 4096

/** One `*` level of the match walk (see #collect). */
interface CollectFrame<S extends IndexedSub> {
  l: TrieNode<S> | undefined
  i: number
  n: TrieNode<S> | undefined
  pwc: TrieNode<S> | undefined
}

export class Sublist<S extends IndexedSub> {
  readonly #root = new TrieNode<S>()
  readonly #cache = new Map<string, MatchResult<S>>()
  #count = 0
  #matches = 0
  #cacheHits = 0
  #inserts = 0
  #removes = 0

  get count(): number {
    return this.#count
  }

  stats(): { num_subscriptions: number; num_cache: number; num_inserts: number; num_removes: number; num_matches: number; cache_hit_rate: number; max_fanout: number; avg_fanout: number } {
    let max = 0
    let total = 0
    for (const r of this.#cache.values()) {
      const f = r.psubs.length + r.qsubs.length
      total += f
      if (f > max) max = f
    }
    return {
      num_subscriptions: this.#count,
      num_cache: this.#cache.size,
      num_inserts: this.#inserts,
      num_removes: this.#removes,
      num_matches: this.#matches,
      cache_hit_rate: this.#matches === 0 ? 0 : this.#cacheHits / this.#matches,
      max_fanout: max,
      avg_fanout: this.#cache.size === 0 ? 0 : total / this.#cache.size,
    }
  }

  insert(sub: S): void {
    let node = this.#root
    for (const token of sub.subject.split('.')) {
      if (token === '*') {
        node = node.pwc ??= new TrieNode<S>()
      } else if (token === '>') {
        node = node.fwc ??= new TrieNode<S>()
      } else {
        node.next ??= new Map()
        let child = node.next.get(token)
        if (child === undefined) {
          child = new TrieNode<S>()
          node.next.set(token, child)
        }
        node = child
      }
    }
    if (sub.queue === undefined) {
      ;(node.psubs ??= new Set()).add(sub)
    } else {
      node.qsubs ??= new Map()
      let group = node.qsubs.get(sub.queue)
      if (group === undefined) {
        group = new Set()
        node.qsubs.set(sub.queue, group)
      }
      group.add(sub)
    }
    this.#count++
    this.#inserts++
    this.#invalidate(sub.subject)
  }

  /** Removes a subscription; returns false if it was not indexed. */
  remove(sub: S): boolean {
    const path: [TrieNode<S>, string][] = []
    let node: TrieNode<S> | undefined = this.#root
    for (const token of sub.subject.split('.')) {
      path.push([node, token])
      if (token === '*') node = node.pwc
      else if (token === '>') node = node.fwc
      else node = node.next?.get(token)
      if (node === undefined) return false
    }
    let removed = false
    if (sub.queue === undefined) {
      removed = node.psubs?.delete(sub) ?? false
    } else {
      const group = node.qsubs?.get(sub.queue)
      if (group !== undefined) {
        removed = group.delete(sub)
        if (group.size === 0) node.qsubs?.delete(sub.queue)
      }
    }
    if (!removed) return false
    // Prune empty nodes so idle churn does not grow the trie.
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, token] = path[i] as [TrieNode<S>, string]
      if (!node.isEmpty()) break
      if (token === '*') parent.pwc = undefined
      else if (token === '>') parent.fwc = undefined
      else parent.next?.delete(token)
      node = parent
    }
    this.#count--
    this.#removes++
    this.#invalidate(sub.subject)
    return true
  }

  #invalidate(pattern: string): void {
    if (this.#cache.size === 0) return
    if (pattern.includes('*') || pattern.includes('>')) {
      for (const key of this.#cache.keys()) if (subjectMatches(pattern, key)) this.#cache.delete(key)
    } else {
      this.#cache.delete(pattern)
    }
  }

  /** All subscriptions matching a literal subject. The result is shared and must not be mutated. */
  match(subject: string): MatchResult<S> {
    this.#matches++
    const cached = this.#cache.get(subject)
    if (cached !== undefined) {
      this.#cacheHits++
      return cached
    }
    const psubs: S[] = []
    const groups = new Map<string, S[]>()
    const tokens = subject.split('.')
    // A subject with an empty token matches nothing (nats-server behaviour).
    let valid = true
    for (const t of tokens) if (t === '') valid = false
    if (valid) this.#collect(tokens, psubs, groups)
    const qsubs = [...groups.values()]
    const result: MatchResult<S> = { psubs, qsubs, cursors: qsubs.map(() => 0) }
    if (this.#cache.size >= SUBLIST_CACHE_MAX) {
      // Drop the oldest quarter (Map keeps insertion order) instead of clearing everything.
      let n = SUBLIST_CACHE_MAX >> 2
      for (const key of this.#cache.keys()) {
        this.#cache.delete(key)
        if (--n === 0) break
      }
    }
    this.#cache.set(subject, result)
    return result
  }

  /**
   * Same walk and result order as nats-server's matchLevel: `>` first, then literal, then `*` at the
   * last level. matchLevel recurses into every `*` child; this keeps those levels on an explicit
   * stack, so a subject of 20,000 tokens (max_control_line can allow it) cannot overflow the call stack.
   */
  #collect(tokens: string[], psubs: S[], groups: Map<string, S[]>): void {
    const stack: CollectFrame<S>[] = [{ l: this.#root, i: 0, n: undefined, pwc: undefined }]
    outer: while (stack.length > 0) {
      const f = stack[stack.length - 1] as CollectFrame<S>
      while (f.i < tokens.length) {
        const l = f.l
        if (l === undefined) {
          stack.pop()
          continue outer
        }
        if (l.fwc !== undefined) this.#add(l.fwc, psubs, groups)
        f.pwc = l.pwc
        f.n = l.next?.get(tokens[f.i] as string)
        f.l = f.n
        f.i++
        // matchLevel's recursion into the `*` child: finish that level before going on here.
        if (f.pwc !== undefined) {
          stack.push({ l: f.pwc, i: f.i, n: undefined, pwc: undefined })
          continue outer
        }
      }
      if (f.n !== undefined) this.#add(f.n, psubs, groups)
      if (f.pwc !== undefined) this.#add(f.pwc, psubs, groups)
      stack.pop()
    }
  }

  #add(node: TrieNode<S>, psubs: S[], groups: Map<string, S[]>): void {
    if (node.psubs !== undefined) for (const s of node.psubs) psubs.push(s)
    if (node.qsubs !== undefined) {
      for (const [name, members] of node.qsubs) {
        let g = groups.get(name)
        if (g === undefined) {
          g = []
          groups.set(name, g)
        }
        for (const s of members) g.push(s)
      }
    }
  }

  /** Whether any subscription matches (cheap path for hasInterest). */
  hasInterest(subject: string): boolean {
    const r = this.match(subject)
    return r.psubs.length > 0 || r.qsubs.length > 0
  }

  /** Every indexed subscription (for /subsz?subs=1 and tests). */
  all(): S[] {
    const out: S[] = []
    // Depth-first with an explicit stack (a recursive walk overflowed on very deep subjects); children
    // are pushed in reverse so the order stays literal children, then `*`, then `>`.
    const stack: TrieNode<S>[] = [this.#root]
    while (stack.length > 0) {
      const node = stack.pop() as TrieNode<S>
      if (node.psubs !== undefined) for (const s of node.psubs) out.push(s)
      if (node.qsubs !== undefined) for (const g of node.qsubs.values()) for (const s of g) out.push(s)
      if (node.fwc !== undefined) stack.push(node.fwc)
      if (node.pwc !== undefined) stack.push(node.pwc)
      if (node.next !== undefined) {
        const children = [...node.next.values()]
        for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as TrieNode<S>)
      }
    }
    return out
  }
}
