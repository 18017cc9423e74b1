// The waiting CONSUMER.MSG.NEXT requests of a pull consumer, served from the head in arrival order
// and answered with a status message when refused, cut short, expired, idle or left behind.
import type { ConsumerConfig } from './config.js'
import type { ConsumerHost } from './consumer.js'
import { JsHeaders } from './js-headers.js'
import { parsePullRequest, type PullRequest } from './pull-request.js'

const EMPTY = new Uint8Array(0)

export class PullQueue {
  readonly #host: ConsumerHost
  #waiting: PullRequest[] = []

  constructor(host: ConsumerHost) {
    this.#host = host
  }

  get length(): number {
    return this.#waiting.length
  }

  /** The request served next. */
  get head(): PullRequest | undefined {
    return this.#waiting[0]
  }

  /** Drops the head request without an answer. */
  shift(): void {
    this.#waiting.shift()
  }

  /** Parses and queues a request; a refused one is answered here and undefined returned. */
  add(reply: string, payload: Uint8Array, config: ConsumerConfig, now: number): PullRequest | undefined {
    const req = parsePullRequest(reply, payload, config, this.#waiting.length, now)
    if ('code' in req) {
      this.status(reply, req.code, req.description)
      return undefined
    }
    this.#waiting.push(req)
    return req
  }

  /** After serving what was available: a no-wait request still queued ends now (404 or 408). */
  endNoWait(req: PullRequest): void {
    if (req.noWait && this.#waiting.includes(req)) {
      // Whatever was available has been delivered; a no-wait request never waits.
      this.#remove(req)
      if (req.delivered === 0) this.status(req.reply, 404, 'No Messages')
      else this.status(req.reply, 408, 'Request Timeout', req)
    }
  }

  /** The head request got a message of `size` bytes; it leaves once its batch or bytes are used up. */
  served(req: PullRequest, size: number): void {
    req.batch--
    req.delivered++
    req.lastSent = Date.now()
    if (req.maxBytes > 0) req.maxBytes -= size
    if (req.batch <= 0) this.#waiting.shift()
    else if (req.maxBytes < 0) {
      this.#waiting.shift()
    }
  }

  #remove(req: PullRequest): void {
    const i = this.#waiting.indexOf(req)
    if (i >= 0) this.#waiting.splice(i, 1)
  }

  status(reply: string, code: number, description: string, req?: PullRequest): void {
    const h = JsHeaders.status(code, description)
    if (req !== undefined) {
      h.set('Nats-Pending-Messages', String(req.batch))
      h.set('Nats-Pending-Bytes', String(req.maxBytes))
    }
    this.#host.publish(reply, EMPTY, h)
  }

  /** Expires requests (408 while someone listens) and sends idle heartbeats to the others. */
  tick(now: number): void {
    if (this.#waiting.length === 0) return
    for (const req of [...this.#waiting]) {
      if (req.expiresAt > 0 && now >= req.expiresAt) {
        this.#remove(req)
        if (this.#host.hasInterest(req.reply)) this.status(req.reply, 408, 'Request Timeout', req)
      } else if (req.hbMs > 0 && now - req.lastSent >= req.hbMs) {
        req.lastSent = now
        this.#host.publish(req.reply, EMPTY, JsHeaders.status(100, 'Idle Heartbeat'))
      }
    }
  }

  /** Drops every request; `deleted` answers each with 409 Consumer Deleted. */
  close(deleted: boolean): void {
    if (deleted) for (const req of this.#waiting) this.status(req.reply, 409, 'Consumer Deleted', req)
    this.#waiting = []
  }
}
