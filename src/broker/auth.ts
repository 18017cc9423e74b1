// Authentication (shared token or user/password, plain or bcrypt) and per-user publish/subscribe
// permissions with allow and deny subject lists, checked the way nats-server does.
import { timingSafeEqual } from 'node:crypto'
import { BcryptPool } from './bcrypt-pool.js'
import { DenyFilter } from './deny-filter.js'
import type { BrokerUser, SubjectPermission, UserPermissions } from './options.js'
import { subjectMatches } from './subject.js'

const PERM_CACHE_MAX = 1024

function anyMatch(patterns: readonly string[], subject: string): boolean {
  // A subscription subject is checked as if literal: `*` in it only matches a `*` or `>` pattern token.
  for (const p of patterns) if (subjectMatches(p, subject)) return true
  return false
}

function allowed(perm: SubjectPermission | undefined, subject: string): boolean {
  if (perm === undefined) return true
  if (perm.allow !== undefined && !anyMatch(perm.allow, subject)) return false
  if (perm.deny !== undefined && anyMatch(perm.deny, subject)) return false
  return true
}

/** Subscribe rules split like nats-server's: plain subjects, and `subject queue` entries. */
interface SubRules {
  plain: string[]
  queued: [subject: string, queue: string][]
}

function subRules(list: readonly string[] | undefined): SubRules | undefined {
  if (list === undefined) return undefined
  const r: SubRules = { plain: [], queued: [] }
  for (const e of list) {
    const [subject, queue] = e.split(' ') as [string, string | undefined]
    if (queue === undefined) r.plain.push(subject)
    else r.queued.push([subject, queue])
  }
  return r
}

/** nats-server's rule: plain entries decide, but when `queue` is set and queue entries match the subject, their queue patterns decide. */
function ruleMatches(r: SubRules, subject: string, queue: string | undefined): boolean {
  let hit = anyMatch(r.plain, subject)
  if (queue !== undefined) {
    let any = false
    let queueHit = false
    for (const [p, q] of r.queued) {
      if (!subjectMatches(p, subject)) continue
      any = true
      if (subjectMatches(q, queue)) queueHit = true
    }
    if (any) hit = queueHit
  }
  return hit
}

export class Permissions {
  readonly #perms: UserPermissions
  readonly #pubCache = new Map<string, boolean>()
  readonly #subAllow: SubRules | undefined
  readonly #subDeny: SubRules | undefined

  constructor(perms: UserPermissions) {
    this.#perms = perms
    this.#subAllow = subRules(perms.subscribe?.allow)
    this.#subDeny = subRules(perms.subscribe?.deny)
  }

  canPublish(subject: string): boolean {
    const hit = this.#pubCache.get(subject)
    if (hit !== undefined) return hit
    const ok = allowed(this.#perms.publish, subject)
    if (this.#pubCache.size >= PERM_CACHE_MAX) this.#pubCache.clear()
    this.#pubCache.set(subject, ok)
    return ok
  }

  canSubscribe(subject: string, queue: string | undefined): boolean {
    if (this.#subAllow !== undefined && !ruleMatches(this.#subAllow, subject, queue)) return false
    return this.#subDeny === undefined || !ruleMatches(this.#subDeny, subject, queue)
  }

  /** The per-delivery deny check for an accepted subscription (undefined when none is needed); plain deny entries only. */
  denyFilter(subject: string): DenyFilter | undefined {
    return DenyFilter.forSubscription(subject, this.#subDeny?.plain)
  }
}

function equalText(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

export function isBcrypt(password: string): boolean {
  return /^\$2[abxy]\$\d{2}\$/.test(password)
}

export interface AuthResult {
  user: string
  permissions: Permissions | undefined
}

export class Authenticator {
  readonly #token: string | undefined
  readonly #users = new Map<string, { user: BrokerUser; permissions: Permissions | undefined }>()
  /** bcrypt is slow by design; remember passwords already verified against a hash. */
  readonly #verified = new Map<string, string>()
  /** Hash comparisons run here, off the event loop, a bounded number at a time. */
  readonly #bcrypt = new BcryptPool()

  constructor(token: string | undefined, users: readonly BrokerUser[]) {
    this.#token = token
    for (const u of users) this.#users.set(u.user, { user: u, permissions: u.permissions === undefined ? undefined : new Permissions(u.permissions) })
  }

  get required(): boolean {
    return this.#token !== undefined || this.#users.size > 0
  }

  /** undefined when refused; a promise when a bcrypt hash must be compared (in a worker thread). */
  authenticate(connect: { user?: string; pass?: string; auth_token?: string }): AuthResult | undefined | Promise<AuthResult | undefined> {
    if (this.#token !== undefined) {
      return typeof connect.auth_token === 'string' && equalText(connect.auth_token, this.#token) ? { user: '', permissions: undefined } : undefined
    }
    if (typeof connect.user !== 'string' || typeof connect.pass !== 'string') return undefined
    const entry = this.#users.get(connect.user)
    if (entry === undefined) return undefined
    const stored = entry.user.password
    const result = { user: connect.user, permissions: entry.permissions }
    if (!isBcrypt(stored)) return equalText(connect.pass, stored) ? result : undefined
    const cached = this.#verified.get(connect.user)
    if (cached !== undefined && equalText(cached, connect.pass)) return result
    const { user, pass } = connect
    return this.#bcrypt.compare(pass, stored).then((ok) => {
      if (!ok) return undefined
      this.#verified.set(user, pass)
      return result
    })
  }

  /** Stops the bcrypt workers (they also stop by themselves when idle). */
  close(): void {
    this.#bcrypt.close()
  }
}
