// Subscribe deny rules checked per delivered subject. A wildcard subscription that a deny pattern
// only partly covers (allowed `public.>`, denied `public.secret.>`) is accepted at SUB time, as
// nats-server accepts it, and each message is then checked before it is delivered to it. Only such
// subscriptions carry a filter; the decision per subject is cached, so a hot subject costs one Map
// lookup per delivery.
import { patternsOverlap, subjectMatches } from './subject.js'

/** Distinct subjects remembered per subscription before the cache starts over. */
export const DENY_CACHE_MAX = 1024

export class DenyFilter {
  readonly #patterns: readonly string[]
  readonly #cache = new Map<string, boolean>()

  private constructor(patterns: readonly string[]) {
    this.#patterns = patterns
  }

  /** A filter for subscription `subject` under `deny`, or undefined when no deny pattern can match what it receives. */
  static forSubscription(subject: string, deny: readonly string[] | undefined): DenyFilter | undefined {
    if (deny === undefined || deny.length === 0) return undefined
    const overlapping = deny.filter((p) => patternsOverlap(p, subject))
    return overlapping.length === 0 ? undefined : new DenyFilter(overlapping)
  }

  /** Is delivering a message on the literal `subject` denied? */
  denies(subject: string): boolean {
    const hit = this.#cache.get(subject)
    if (hit !== undefined) return hit
    let denied = false
    for (const p of this.#patterns) {
      if (subjectMatches(p, subject)) {
        denied = true
        break
      }
    }
    if (this.#cache.size >= DENY_CACHE_MAX) this.#cache.clear()
    this.#cache.set(subject, denied)
    return denied
  }
}
