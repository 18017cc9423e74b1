// A Redis client's channel or pattern subscription, stored in the broker's subject index like any
// NATS subscription. A pattern that a subject cannot express exactly carries a GlobFilter: the
// broker asks it per message (with the subscriber's deny rules) before delivering, so fan-out,
// PUBLISH's receiver count and slow-consumer policy never see a message the glob does not match.
import { Sub, type DeliveryFilter, type SubClient, type SubOwner } from '../subscription.js'
import { bulk, pushHead } from './encode.js'
import { globMatch } from './glob.js'

/** What a GlobFilter needs: the channel of a subject, cached for a fan-out. */
export interface ChannelSource {
  channelOf(subject: string): Buffer
}

export class GlobFilter implements DeliveryFilter {
  readonly #source: ChannelSource
  readonly #pattern: Buffer
  readonly #deny: DeliveryFilter | undefined

  constructor(source: ChannelSource, pattern: Buffer, deny: DeliveryFilter | undefined) {
    this.#source = source
    this.#pattern = pattern
    this.#deny = deny
  }

  denies(subject: string): boolean {
    if (this.#deny !== undefined && this.#deny.denies(subject)) return true
    return !globMatch(this.#pattern, this.#source.channelOf(subject))
  }
}

export const SubKind = { CHANNEL: 0, PATTERN: 1, SHARD: 2 } as const
export type SubKindValue = (typeof SubKind)[keyof typeof SubKind]

export class RespSub extends Sub {
  readonly kind: SubKindValue
  /** The channel or pattern as the client sent it. */
  readonly name: Buffer
  /** `pmessage` heads up to the channel, RESP2 and RESP3 (patterns only). */
  readonly head2: Buffer | undefined
  readonly head3: Buffer | undefined

  constructor(owner: SubOwner & SubClient, kind: SubKindValue, name: Buffer, key: string, subject: string) {
    super(owner, subject, undefined, key, owner, undefined)
    this.kind = kind
    this.name = name
    if (kind === SubKind.PATTERN) {
      const rest = Buffer.concat([bulk('pmessage'), bulk(name)])
      this.head2 = Buffer.concat([pushHead(4, false), rest])
      this.head3 = Buffer.concat([pushHead(4, true), rest])
    }
  }
}

/** The key of a subscription in its connection's `subs` map (channel bytes kept exactly). */
export function subKey(kind: SubKindValue, name: Buffer): string {
  return `${kind}${name.toString('latin1')}`
}
