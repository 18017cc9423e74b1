// A push consumer's flow control (a $JS.FC request every so many messages; delivery stalls until it
// is answered) and the idle heartbeats on its deliver subject.
import type { ConsumerConfig } from './config.js'
import type { ConsumerHost } from './consumer.js'
import { JsHeaders } from './js-headers.js'

const EMPTY = new Uint8Array(0)

export class PushFlow {
  readonly #host: ConsumerHost
  /** `$JS.FC.<stream>.<consumer>.`: request subjects add a sequence number. */
  readonly #fcPrefix: string
  /** Reply subject of the unanswered flow-control request. */
  #fcPending: string | undefined
  #fcSince = 0
  #fcSeq = 0

  constructor(host: ConsumerHost, name: string) {
    this.#host = host
    this.#fcPrefix = `$JS.FC.${host.streamName}.${name}.`
  }

  #fcEvery(c: ConsumerConfig): number {
    const map = c.max_ack_pending > 0 ? c.max_ack_pending : 1000
    return Math.max(1, Math.min(512, Math.floor(map / 2)))
  }

  stalled(c: ConsumerConfig): boolean {
    return this.#fcPending !== undefined && this.#fcSince >= this.#fcEvery(c) * 2
  }

  /** A message went out: asks for flow control when it is on and due. */
  sent(c: ConsumerConfig): void {
    this.#fcSince++
    if (c.flow_control === true && this.#fcPending === undefined && this.#fcSince >= this.#fcEvery(c)) this.#sendFlowControl(c)
  }

  #sendFlowControl(c: ConsumerConfig): void {
    const reply = `${this.#fcPrefix}${++this.#fcSeq}`
    this.#fcPending = reply
    this.#fcSince = 0
    this.#host.publish(c.deliver_subject as string, EMPTY, JsHeaders.status(100, 'FlowControl Request'), reply)
  }

  /** A reply on `$JS.FC...`; true when it answers the outstanding request. */
  onReply(subject: string): boolean {
    if (subject !== this.#fcPending) return false
    this.#fcPending = undefined
    return true
  }

  /** Idle heartbeat to `ds` when someone listens, with the last sequences and any stall. */
  heartbeat(ds: string, consumerSeq: number, streamSeq: number): void {
    if (!this.#host.hasInterest(ds)) return
    const h = JsHeaders.status(100, 'Idle Heartbeat')
    h.set('Nats-Last-Consumer', String(consumerSeq))
    h.set('Nats-Last-Stream', String(streamSeq))
    if (this.#fcPending !== undefined) h.set('Nats-Consumer-Stalled', this.#fcPending)
    this.#host.publish(ds, EMPTY, h)
  }
}
