// Interest across the cluster. Local side: a count per (subject, queue) of this node's own
// subscriptions, turned into RS+/RS- for peers (a queue's weight is its member count). Remote
// side: what each route announced, in a subject index of its own, consulted on local publishes to
// send each message at most once per route, with each queue group served by exactly one node.
import { Sublist, type IndexedSub } from '../sublist.js'
import type { Route } from './route.js'

class RemoteSub implements IndexedSub {
  readonly subject: string
  readonly queue: string | undefined
  readonly route: Route
  weight: number

  constructor(route: Route, subject: string, queue: string | undefined, weight: number) {
    this.route = route
    this.subject = subject
    this.queue = queue
    this.weight = weight
  }
}

/** A local queue member as the subject index returns it. */
export interface LocalMember {
  readonly closed: boolean
  readonly queue: string | undefined
  readonly client: unknown
}

function keyOf(subject: string, queue: string | undefined): string {
  return queue === undefined ? subject : `${subject} ${queue}`
}

/**
 * Subjects whose interest stays on this node: JetStream's own API (`$JS.API.>`; other nodes reach a
 * node's JetStream through its domain, `$JS.<domain>.API.>`) and the system account's subjects.
 * Acks (`$JS.ACK.>`), flow control and domain APIs are ordinary interest.
 */
export function isNodeLocal(subject: string): boolean {
  return subject.startsWith('$JS.API.') || subject.startsWith('$SYS.')
}

export class Interest {
  readonly #local = new Map<string, { subject: string; queue: string | undefined; count: number }>()
  readonly #remote = new Sublist<RemoteSub>()
  readonly #byRoute = new Map<Route, Map<string, RemoteSub>>()
  readonly #targets = new Map<Route, string[] | undefined>()

  get remoteCount(): number {
    return this.#remote.count
  }

  /** Returns the RS+ line to send to every route, or undefined when peers need not hear of it. */
  localAdded(subject: string, queue: string | undefined): string | undefined {
    if (isNodeLocal(subject)) return undefined
    const key = keyOf(subject, queue)
    let e = this.#local.get(key)
    if (e === undefined) {
      e = { subject, queue, count: 0 }
      this.#local.set(key, e)
    }
    e.count++
    if (queue !== undefined) return `RS+ $G ${subject} ${queue} ${e.count}\r\n`
    return e.count === 1 ? `RS+ $G ${subject}\r\n` : undefined
  }

  /** Returns the RS-/RS+ line to send to every route, or undefined. */
  localRemoved(subject: string, queue: string | undefined): string | undefined {
    if (isNodeLocal(subject)) return undefined
    const key = keyOf(subject, queue)
    const e = this.#local.get(key)
    if (e === undefined) return undefined
    if (--e.count > 0) return queue === undefined ? undefined : `RS+ $G ${subject} ${queue} ${e.count}\r\n`
    this.#local.delete(key)
    return queue === undefined ? `RS- $G ${subject}\r\n` : `RS- $G ${subject} ${queue}\r\n`
  }

  /** All local interest as RS+ lines, for a newly registered route. */
  snapshot(): string {
    let s = ''
    for (const e of this.#local.values()) s += e.queue === undefined ? `RS+ $G ${e.subject}\r\n` : `RS+ $G ${e.subject} ${e.queue} ${e.count}\r\n`
    return s
  }

  remoteAdded(route: Route, subject: string, queue: string | undefined, weight: number): void {
    let m = this.#byRoute.get(route)
    if (m === undefined) {
      m = new Map()
      this.#byRoute.set(route, m)
    }
    const key = keyOf(subject, queue)
    const e = m.get(key)
    if (e !== undefined) {
      // A repeated RS+ updates a queue's weight (nats-server sends one per member change).
      e.weight = weight
      return
    }
    const sub = new RemoteSub(route, subject, queue, weight)
    m.set(key, sub)
    this.#remote.insert(sub)
  }

  remoteRemoved(route: Route, subject: string, queue: string | undefined): void {
    const m = this.#byRoute.get(route)
    const key = keyOf(subject, queue)
    const e = m?.get(key)
    if (m === undefined || e === undefined) return
    m.delete(key)
    this.#remote.remove(e)
  }

  /** Forgets everything a route announced (it closed or lost a duplicate resolution). */
  dropRoute(route: Route): void {
    const m = this.#byRoute.get(route)
    if (m === undefined) return
    this.#byRoute.delete(route)
    for (const e of m.values()) this.#remote.remove(e)
  }

  /** Routes with interest in a literal subject (plain or queue), for /routez and tests. */
  /** Whether any route has interest in `subject` (cheaper than routesInterested). */
  anyInterest(subject: string): boolean {
    const r = this.#remote.match(subject)
    return r.psubs.length > 0 || r.qsubs.length > 0
  }

  routesInterested(subject: string): number {
    const r = this.#remote.match(subject)
    const set = new Set<Route>()
    for (const s of r.psubs) set.add(s.route)
    for (const g of r.qsubs) for (const s of g) set.add(s.route)
    return set.size
  }

  remoteSubsOf(route: Route): number {
    return this.#byRoute.get(route)?.size ?? 0
  }

  /**
   * Sends a locally published message to the routes that want it: once per route, naming the
   * queue groups that route should serve. A group in `localGroups` (matched on this node) with a
   * live member was served here, unless that member is the publisher itself with echo off
   * (`noEcho`): local members are preferred, as nats-server does. Returns whether any route was
   * sent the message.
   */
  forward(subject: string, reply: string, hdrLen: number, payload: Buffer, localGroups: readonly (readonly LocalMember[])[], noEcho: unknown, only?: readonly string[]): boolean {
    let served: string[] | undefined
    for (const g of localGroups) {
      for (const m of g) {
        if (!m.closed && (noEcho === undefined || m.client !== noEcho)) {
          ;(served ??= []).push(m.queue as string)
          break
        }
      }
    }
    const r = this.#remote.match(subject)
    if (r.psubs.length === 0 && r.qsubs.length === 0) return false
    const targets = this.#targets
    targets.clear()
    for (let i = 0; i < r.psubs.length; i++) {
      const route = (r.psubs[i] as RemoteSub).route
      if (!route.closed && !targets.has(route)) targets.set(route, undefined)
    }
    for (let g = 0; g < r.qsubs.length; g++) {
      const members = r.qsubs[g] as RemoteSub[]
      const name = (members[0] as RemoteSub).queue as string
      if (served !== undefined && served.includes(name)) continue
      // A message from a leaf serves only the groups its sender named (leaf-manager.ts).
      if (only !== undefined && !only.includes(name)) continue
      const n = members.length
      const start = (r.cursors[g] as number) % n
      r.cursors[g] = start + 1
      for (let k = 0; k < n; k++) {
        const route = (members[(start + k) % n] as RemoteSub).route
        if (route.closed) continue
        const list = targets.get(route)
        if (list === undefined) targets.set(route, [name]) // new target, or one that only had plain interest
        else list.push(name)
        break
      }
    }
    for (const [route, queues] of targets) route.sendMsg(subject, reply, queues, hdrLen, payload)
    const any = targets.size > 0
    targets.clear()
    return any
  }
}
