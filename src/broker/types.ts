// The embedded (in-process) broker API that every in-process component builds on: the JetStream
// layer (src/broker/streams), the demo, and users' Node programs. Implemented by the broker server;
// messages published here reach network clients and vice versa, with no network hop.

/** NATS headers: an optional status line (`NATS/1.0 503 No Responders`) plus multi-valued fields. */
export interface MsgHeadersLike {
  /** Status code from the status line, e.g. 503, 404, 408, 409, 100; 0 when there is none. */
  readonly code: number
  /** Description after the status code, e.g. "No Responders"; '' when there is none. */
  readonly description: string
  get(name: string): string | undefined
  values(name: string): string[]
  has(name: string): boolean
  /** All fields in insertion order, original case preserved. */
  entries(): IterableIterator<[string, string]>
}

export interface BrokerMsg {
  readonly subject: string
  /** Reply subject, '' when none. */
  readonly reply: string
  /** Payload bytes; a view that is only valid during the handler call unless copied. */
  readonly data: Uint8Array
  readonly headers: MsgHeadersLike | undefined
  /**
   * What the broker knows of the publisher's rights: the network client that published it, or, for
   * a message relayed by a route or leafnode, a sender that may publish nowhere (its user is not
   * known here). Undefined for in-process publishes. JetStream checks a consumer creator's publish
   * permission on `dead_letter_subject` with it.
   */
  readonly sender?: MsgSender | undefined
}

export interface MsgSender {
  canPublish(subject: string): boolean
}

export interface PublishOptions {
  reply?: string
  headers?: MsgHeadersLike
  /**
   * Subject shown to receivers when it differs from the routing subject. JetStream deliveries are
   * routed to an inbox or deliver subject but carry the stored message's own subject.
   */
  msgSubject?: string
}

export interface SubscribeOptions {
  queue?: string
  /** Auto-unsubscribe after this many messages. */
  max?: number
  /**
   * Keep this subscription to this node: never announced to routes, and messages that arrive from
   * a route are not delivered to it (JetStream's own `$JS.API.>` handler, so each node answers only
   * its own clients; other nodes reach it through `$JS.<domain>.API`).
   */
  local?: boolean
}

export interface Subscription {
  readonly subject: string
  readonly queue: string | undefined
  unsubscribe(): void
}

export type MsgHandler = (msg: BrokerMsg) => void

/** The slice of the broker that in-process components depend on. */
export interface EmbeddedBroker {
  publish(subject: string, data?: Uint8Array | string, options?: PublishOptions): void
  subscribe(subject: string, options: SubscribeOptions, handler: MsgHandler): Subscription
  /** Whether anything (network or in-process) is subscribed to a subject that matches. */
  hasInterest(subject: string): boolean
}
