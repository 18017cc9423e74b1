// ShuffleFetcher for cluster mode: reads a block from this worker's own disk when the map output
// is local, else streams it from the owning worker's block server over TCP. Segment boundaries
// are kept (the engine decodes whole frames per chunk); a bounded queue between the socket and
// the reducer applies backpressure. Any failure becomes the engine's FetchFailedError, which the
// scheduler turns into recomputing that map output.
import { FetchFailedError } from '../fetch-failed.js'
import type { ShuffleBlockStore, ShuffleFetcher } from '../shuffle-store.js'
import type { MapOutputLocation } from '../task-spec.js'
import type { BlockFetcher } from './block-fetcher.js'

/** Block id on the wire: `<scope>/<shuffleId>/<mapId>/<attempt>/<reduceId>`. */
export function blockIdOf(scope: string, shuffleId: number, mapId: number, attempt: number, reduceId: number): string {
  return `${scope}/${shuffleId}/${mapId}/${attempt}/${reduceId}`
}

export function parseBlockId(id: string): { scope: string; shuffleId: number; mapId: number; attempt: number; reduceId: number } | undefined {
  const m = /^([A-Za-z0-9_.-]{1,200})\/(\d+)\/(\d+)\/(\d+)\/(\d+)$/.exec(id)
  if (m === null) return undefined
  return { scope: m[1] as string, shuffleId: Number(m[2]), mapId: Number(m[3]), attempt: Number(m[4]), reduceId: Number(m[5]) }
}

const QUEUE_SEGMENTS = 8

export class RemoteShuffleFetcher implements ShuffleFetcher {
  readonly #scope: string
  readonly #ownAddress: string
  readonly #local: ShuffleBlockStore
  readonly #net: BlockFetcher
  remoteBlocks = 0
  localBlocks = 0

  constructor(scope: string, ownAddress: string, local: ShuffleBlockStore, net: BlockFetcher) {
    this.#scope = scope
    this.#ownAddress = ownAddress
    this.#local = local
    this.#net = net
  }

  async *fetch(shuffleId: number, location: MapOutputLocation, reduceId: number): AsyncIterable<Uint8Array> {
    if (location.address === this.#ownAddress || location.address === '') {
      this.localBlocks++
      yield* this.#local.openBlock({ shuffleId, mapId: location.mapId, attempt: location.attempt, reduceId })
      return
    }
    this.remoteBlocks++
    const colon = location.address.lastIndexOf(':')
    const host = location.address.slice(0, colon).replace(/^\[|\]$/g, '')
    const port = Number(location.address.slice(colon + 1))
    const queue: Buffer[] = []
    let done = false
    let failure: Error | undefined
    let wake: (() => void) | undefined
    let space: (() => void) | undefined
    const notify = (): void => {
      const w = wake
      wake = undefined
      w?.()
    }
    const id = blockIdOf(this.#scope, shuffleId, location.mapId, location.attempt, reduceId)
    this.#net
      .fetch(host, port, location.workerId, id, {
        data: (segment) => {
          queue.push(segment)
          notify()
          if (queue.length < QUEUE_SEGMENTS) return
          return new Promise<void>((r) => {
            space = r
          })
        },
      })
      .then(
        () => {
          done = true
          notify()
        },
        (err: unknown) => {
          failure = err as Error
          done = true
          notify()
        },
      )
    for (;;) {
      const next = queue.shift()
      if (next !== undefined) {
        if (queue.length < QUEUE_SEGMENTS && space !== undefined) {
          const s = space
          space = undefined
          s()
        }
        yield next
        continue
      }
      if (done) break
      await new Promise<void>((r) => {
        wake = r
      })
    }
    if (failure !== undefined) {
      throw new FetchFailedError(shuffleId, location.mapId, failure.message, { cause: failure })
    }
  }
}
