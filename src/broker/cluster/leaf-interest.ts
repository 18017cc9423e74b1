// Interest across leafnode links, as nats-server's leafnode.go keeps it: what each link announced
// (LS+, in a subject index used to forward messages), and what each link is told (its smap),
// summed from this node's own subscriptions, its routes' interest and its other links'. Who hears
// of what:
//   - a link on which this node is the hub hears of everything (local, routes, other leafs);
//   - a link on which this node is the spoke hears only of local interest and of this node's own
//     spokes, never of its routes' (every node of a spoke cluster has its own hub link).
import { Sublist } from '../sublist.js'
import { isNodeLocal, type LocalMember } from './interest.js'
import { Leaf, LeafSub, keyOf } from './leaf.js'

/** Where interest or a message came from: this node's clients, a route, or a leaf link. */
export type Source = 'local' | 'route' | Leaf

interface Entry {
  subject: string
  queue: string | undefined
  count: number
}

export interface LeafForward {
  /** Whether any leaf was sent the message. */
  sent: boolean
  /** Queue groups a leaf now serves (to be skipped by the routes), as local-member groups. */
  served: LocalMember[][]
}

/** A queue group served on the leaf side, shaped like a local member so the routes skip it. */
function servedGroup(name: string): LocalMember[] {
  return [{ closed: false, queue: name, client: undefined }]
}

function count(map: Map<string, Entry>, subject: string, queue: string | undefined, delta: number): void {
  const key = keyOf(subject, queue)
  const e = map.get(key)
  if (e === undefined) {
    if (delta > 0) map.set(key, { subject, queue, count: delta })
    return
  }
  e.count += delta
  if (e.count <= 0) map.delete(key)
}

/** Whether `target` is told about interest from `source`. */
function visible(source: Source, target: Leaf): boolean {
  if (source === target) return false
  if (!target.spoke) return true
  return source === 'local' || (source instanceof Leaf && !source.spoke)
}

export class LeafInterest {
  /** Registered leaf links (both directions). */
  readonly leafs = new Set<Leaf>()
  /** Subject this node announces on every link to find loops (nats-server's `$LDS.`). */
  readonly loopSubject: string
  readonly #remote = new Sublist<LeafSub>()
  readonly #local = new Map<string, Entry>()
  readonly #routes = new Map<string, Entry>()
  readonly #byRoute = new Map<object, Map<string, Entry>>()
  readonly #targets = new Map<Leaf, string[] | undefined>()
  readonly #none: LeafForward = { sent: false, served: [] }

  constructor(loopSubject: string) {
    this.loopSubject = loopSubject
  }

  /** Interest announced by all links. */
  get remoteCount(): number {
    return this.#remote.count
  }

  /** How many links announced interest matching a literal subject (tests, monitoring). */
  leafsInterested(subject: string): number {
    const r = this.#remote.match(subject)
    const set = new Set<Leaf>()
    for (const x of r.psubs) set.add(x.leaf)
    for (const g of r.qsubs) for (const x of g) set.add(x.leaf)
    return set.size
  }

  #propagate(source: Source, subject: string, queue: string | undefined, delta: number): void {
    for (const t of this.leafs) if (visible(source, t)) t.adjust(subject, queue, delta)
  }

  // ---- this node's own and its routes' interest -----------------------------------------------

  localAdded(subject: string, queue: string | undefined): void {
    if (isNodeLocal(subject)) return
    count(this.#local, subject, queue, 1)
    this.#propagate('local', subject, queue, 1)
  }

  localRemoved(subject: string, queue: string | undefined): void {
    if (isNodeLocal(subject) || !this.#local.has(keyOf(subject, queue))) return
    count(this.#local, subject, queue, -1)
    this.#propagate('local', subject, queue, -1)
  }

  /** RS+ from a route (a repeated one updates a queue's weight). */
  routeAdded(route: object, subject: string, queue: string | undefined, weight: number): void {
    if (isNodeLocal(subject)) return
    let m = this.#byRoute.get(route)
    if (m === undefined) this.#byRoute.set(route, (m = new Map()))
    const key = keyOf(subject, queue)
    const w = queue === undefined ? 1 : weight
    const e = m.get(key)
    const delta = e === undefined ? w : w - e.count
    if (e === undefined) m.set(key, { subject, queue, count: w })
    else e.count = w
    if (delta === 0) return
    count(this.#routes, subject, queue, delta)
    this.#propagate('route', subject, queue, delta)
  }

  routeRemoved(route: object, subject: string, queue: string | undefined): void {
    const m = this.#byRoute.get(route)
    const key = keyOf(subject, queue)
    const e = m?.get(key)
    if (m === undefined || e === undefined) return
    m.delete(key)
    count(this.#routes, subject, queue, -e.count)
    this.#propagate('route', subject, queue, -e.count)
  }

  /** A route closed: everything it announced is gone. */
  dropRoute(route: object): void {
    const m = this.#byRoute.get(route)
    if (m === undefined) return
    this.#byRoute.delete(route)
    for (const e of m.values()) {
      count(this.#routes, e.subject, e.queue, -e.count)
      this.#propagate('route', e.subject, e.queue, -e.count)
    }
  }

  // ---- links ----------------------------------------------------------------------------------

  /** Registers a link: fills its smap with everything it may hear of, and sends it. */
  register(leaf: Leaf): void {
    leaf.smap.clear()
    const add = (e: { subject: string; queue: string | undefined }, n: number): void => {
      const key = keyOf(e.subject, e.queue)
      leaf.smap.set(key, (leaf.smap.get(key) ?? 0) + n)
    }
    for (const e of this.#local.values()) add(e, e.count)
    if (!leaf.spoke) for (const e of this.#routes.values()) add(e, e.count)
    for (const other of this.leafs) {
      if (other === leaf || !visible(other, leaf)) continue
      for (const s of other.subs.values()) add(s, s.queue === undefined ? 1 : s.weight)
    }
    leaf.smap.set(this.loopSubject, 1)
    leaf.registered = true
    this.leafs.add(leaf)
    const lines = leaf.smapLines()
    if (lines !== '') leaf.sendText(lines)
  }

  /** LS+ from a link (already validated). Returns true when the interest is new (not a weight update). */
  leafAdded(leaf: Leaf, subject: string, queue: string | undefined, weight: number): boolean {
    const key = keyOf(subject, queue)
    const w = queue === undefined ? 1 : weight
    const old = leaf.subs.get(key)
    if (old !== undefined) {
      const delta = w - old.weight
      old.weight = w
      if (delta !== 0) this.#propagate(leaf, subject, queue, delta)
      return false
    }
    const sub = new LeafSub(leaf, subject, queue, w)
    leaf.subs.set(key, sub)
    this.#remote.insert(sub)
    this.#propagate(leaf, subject, queue, w)
    return true
  }

  /** LS- from a link; returns the interest it removed, if any. */
  leafRemoved(leaf: Leaf, subject: string, queue: string | undefined): LeafSub | undefined {
    const key = keyOf(subject, queue)
    const sub = leaf.subs.get(key)
    if (sub === undefined) return undefined
    leaf.subs.delete(key)
    this.#remote.remove(sub)
    this.#propagate(leaf, sub.subject, sub.queue, -sub.weight)
    return sub
  }

  /** A link closed: unregisters it and returns the interest it had announced. */
  dropLeaf(leaf: Leaf): LeafSub[] {
    if (!this.leafs.delete(leaf)) return []
    const gone = [...leaf.subs.values()]
    for (const s of gone) this.leafRemoved(leaf, s.subject, s.queue)
    return gone
  }

  // ---- messages -------------------------------------------------------------------------------

  /**
   * Sends to every eligible link with plain interest, and to one member link of each queue group
   * not in `served` (and in `only`, when given). Never back to `source`, never from a route to a
   * link on which this node is the spoke. Cheap when no link announced anything.
   */
  forward(source: Source, subject: string, reply: string, hdrLen: number, payload: Buffer, served: readonly string[] | undefined, only: readonly string[] | undefined): LeafForward {
    if (this.#remote.count === 0) return this.#none
    const r = this.#remote.match(subject)
    if (r.psubs.length === 0 && r.qsubs.length === 0) return this.#none
    const ok = (t: Leaf): boolean => t !== source && t.registered && !t.closed && !(source === 'route' && t.spoke)
    const targets = this.#targets
    targets.clear()
    for (const s of r.psubs) if (ok(s.leaf) && !targets.has(s.leaf)) targets.set(s.leaf, undefined)
    let out: LocalMember[][] | undefined
    for (let g = 0; g < r.qsubs.length; g++) {
      const members = r.qsubs[g] as LeafSub[]
      const name = (members[0] as LeafSub).queue as string
      if (served !== undefined && served.includes(name)) continue
      if (only !== undefined && !only.includes(name)) continue
      const n = members.length
      const start = (r.cursors[g] as number) % n
      r.cursors[g] = start + 1
      for (let k = 0; k < n; k++) {
        const t = (members[(start + k) % n] as LeafSub).leaf
        if (!ok(t)) continue
        const list = targets.get(t)
        if (list === undefined) targets.set(t, [name])
        else list.push(name)
        ;(out ??= []).push(servedGroup(name))
        break
      }
    }
    if (targets.size === 0) return this.#none
    for (const [t, queues] of targets) t.sendMsg(subject, reply, queues, hdrLen, payload)
    targets.clear()
    return { sent: true, served: out ?? [] }
  }
}
