// A published message prepared once per publish: the MSG/HMSG prefixes and suffixes that are the
// same for every subscriber (only the sid differs), and the lazily built in-process BrokerMsg.
import { MsgHeaders } from './headers.js'
import type { OutFrame } from './subscription.js'
import type { BrokerMsg, MsgHeadersLike, MsgSender } from './types.js'

const EMPTY = Buffer.alloc(0)
const PRE_CACHE_MAX = 512
const preCache = new Map<string, Buffer>()

/** `MSG <subject> ` bytes, cached per subject because most traffic repeats subjects. */
function cachedPre(text: string): Buffer {
  let b = preCache.get(text)
  if (b === undefined) {
    if (preCache.size >= PRE_CACHE_MAX) preCache.clear()
    b = Buffer.from(text)
    preCache.set(text, b)
  }
  return b
}

const SIZE_POSTS: (Buffer | undefined)[] = []

/** ` <size>\r\n` for messages without a reply, cached for small sizes. */
function sizePost(size: number): Buffer {
  if (size < 65536) return (SIZE_POSTS[size] ??= Buffer.from(` ${size}\r\n`))
  return Buffer.from(` ${size}\r\n`)
}

/** The message handed to in-process handlers. `data` is a view valid only during the call. */
class InProcMsg implements BrokerMsg {
  readonly subject: string
  readonly reply: string
  readonly data: Uint8Array
  readonly sender: MsgSender | undefined
  readonly #block: Uint8Array | undefined
  #headers: MsgHeadersLike | undefined | null = null

  constructor(subject: string, reply: string, hdrLen: number, payload: Buffer, sender: MsgSender | undefined) {
    this.subject = subject
    this.reply = reply
    this.sender = sender
    this.data = hdrLen >= 0 ? payload.subarray(hdrLen) : payload
    this.#block = hdrLen >= 0 ? payload.subarray(0, hdrLen) : undefined
  }

  get headers(): MsgHeadersLike | undefined {
    if (this.#headers === null) {
      try {
        // nats.js sends an empty block (HPUB with 0 header bytes) for empty headers: no parse, no throw.
        this.#headers = this.#block === undefined || this.#block.length === 0 ? undefined : MsgHeaders.parse(this.#block)
      } catch {
        // A network client sent a malformed block; in-process code sees no headers.
        this.#headers = undefined
      }
    }
    return this.#headers
  }
}

/** Numbers each routed message (Frame.seq). */
let nextSeq = 0

export class Frame implements OutFrame {
  seq = 0
  subject = ''
  reply = ''
  hdrLen = -1
  payload: Buffer = EMPTY
  fanout = 0
  /** BrokerMsg.sender of the in-process view. */
  sender: MsgSender | undefined = undefined
  #preMsg: Buffer | undefined
  #preHmsg: Buffer | undefined
  #postMsg: Buffer | undefined
  #postHmsg: Buffer | undefined
  #msg: BrokerMsg | undefined
  // Most traffic repeats one subject and size: keep the last prefixes instead of rebuilding them.
  #lastSubject = ''
  #lastPreMsg: Buffer | undefined
  #lastPreHmsg: Buffer | undefined
  #lastPostKey = ''
  #lastPost: Buffer | undefined

  reset(subject: string, reply: string, hdrLen: number, payload: Buffer, sender?: MsgSender, fanout = 0): this {
    this.seq = ++nextSeq
    this.fanout = fanout
    this.subject = subject
    this.reply = reply
    this.hdrLen = hdrLen
    this.payload = payload
    this.sender = sender
    this.#preMsg = undefined
    this.#preHmsg = undefined
    this.#postMsg = undefined
    this.#postHmsg = undefined
    this.#msg = undefined
    return this
  }

  /** Drops references so a pooled frame does not pin a socket chunk. */
  clear(): void {
    this.payload = EMPTY
    this.sender = undefined
    this.#msg = undefined
  }

  pre(headers: boolean): Buffer {
    if (this.subject !== this.#lastSubject) {
      this.#lastSubject = this.subject
      this.#lastPreMsg = undefined
      this.#lastPreHmsg = undefined
    }
    if (headers) return (this.#preHmsg ??= this.#lastPreHmsg ??= cachedPre(`HMSG ${this.subject} `))
    return (this.#preMsg ??= this.#lastPreMsg ??= cachedPre(`MSG ${this.subject} `))
  }

  post(headers: boolean): Buffer {
    if (headers) return (this.#postHmsg ??= this.#cachedPost(`${this.reply === '' ? ' ' : ` ${this.reply} `}${this.hdrLen} ${this.payload.length}\r\n`))
    const size = this.hdrLen >= 0 ? this.payload.length - this.hdrLen : this.payload.length
    if (this.#postMsg !== undefined) return this.#postMsg
    if (this.reply === '') {
      this.#postMsg = sizePost(size)
      return this.#postMsg
    }
    return (this.#postMsg = this.#cachedPost(` ${this.reply} ${size}\r\n`))
  }

  #cachedPost(text: string): Buffer {
    if (text !== this.#lastPostKey || this.#lastPost === undefined) {
      this.#lastPostKey = text
      this.#lastPost = Buffer.from(text)
    }
    return this.#lastPost
  }

  msg(): BrokerMsg {
    return (this.#msg ??= new InProcMsg(this.subject, this.reply, this.hdrLen, this.payload, this.sender))
  }
}
