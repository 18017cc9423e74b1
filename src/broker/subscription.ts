// One subscription, network or in-process. The broker's index stores these objects directly.
import type { BrokerMsg, MsgHandler, Subscription } from './types.js'
import type { IndexedSub } from './sublist.js'

/** What a subscription needs from its owner; implemented by the network client and the broker. */
export interface SubOwner {
  removeSub(sub: Sub): void
}

export class Sub implements Subscription, IndexedSub {
  readonly subject: string
  readonly queue: string | undefined
  /** Client-chosen id; '' for in-process subscriptions. */
  readonly sid: string
  /** `sid` as bytes, ready for MSG frames. */
  readonly sidBytes: Buffer
  /** The network client, or undefined for an in-process handler. */
  readonly client: SubClient | undefined
  readonly handler: MsgHandler | undefined
  readonly owner: SubOwner
  /** Auto-unsubscribe after this many deliveries; 0 means no limit. */
  max = 0
  delivered = 0
  closed = false
  /** Drop messages instead of disconnecting a slow consumer. */
  drop = false
  /** Not announced to routes and not fed from them (SubscribeOptions.local). */
  local = false
  /**
   * Checked per delivered subject before delivery: subscribe deny rules that overlap this
   * subscription (deny-filter.ts), or a front-end's finer match (a Redis glob, resp/glob.ts).
   */
  deny: DeliveryFilter | undefined = undefined

  constructor(owner: SubOwner, subject: string, queue: string | undefined, sid: string, client: SubClient | undefined, handler: MsgHandler | undefined) {
    this.owner = owner
    this.subject = subject
    this.queue = queue
    this.sid = sid
    this.sidBytes = Buffer.from(sid)
    this.client = client
    this.handler = handler
  }

  unsubscribe(): void {
    if (!this.closed) this.owner.removeSub(this)
  }
}

/** Decides per literal subject whether a subscription must not receive it. */
export interface DeliveryFilter {
  denies(subject: string): boolean
}

/** The slice of a network client that delivery needs (kept small so the broker does not depend on the socket code). */
export interface SubClient {
  readonly cid: number
  readonly echo: boolean
  readonly headers: boolean
  deliver(sub: Sub, frame: OutFrame): void
}

/** One published message, prepared once and written to each subscriber with its own sid. */
export interface OutFrame {
  /** Distinct for every routed message, so a subscriber can tell one fan-out from the next. */
  readonly seq: number
  readonly subject: string
  readonly reply: string
  /** -1 when there are no headers. */
  readonly hdrLen: number
  /** Header block + body. */
  readonly payload: Buffer
  /**
   * How many subscriptions this routing may reach (plain ones plus one per queue group): a hint for
   * sharing one encoded copy across a fan-out; some may still be skipped (closed, denied, no echo).
   */
  readonly fanout: number
  /** `MSG <subject> ` / `HMSG <subject> ` */
  pre(headers: boolean): Buffer
  /** ` [reply ]<size>\r\n` (MSG) or ` [reply ]<hdr> <total>\r\n` (HMSG). */
  post(headers: boolean): Buffer
  /** The message as seen by in-process handlers. */
  msg(): BrokerMsg
}
