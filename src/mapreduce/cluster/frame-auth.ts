// Per-frame integrity after the handshake: each direction of a session has its own HMAC-SHA256 key,
// derived from the secret and both sides' handshake nonces, and every frame carries a MAC over
// its sequence number and payload. A rewritten, injected, replayed or reordered frame fails the
// check and closes the connection; a relayed handshake gives the relay no key it could use.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { ClusterError, ClusterErrorCodes } from './errors.js'

export const MAC_BYTES = 32

export interface SessionKeys {
  readonly send: Buffer
  readonly receive: Buffer
}

/**
 * Keys for one session. `side` is who calls: the client's send key is the server's receive key.
 * Both nonces are fresh per connection, so no two sessions (nor two directions) share a key.
 */
export function deriveSessionKeys(secret: string, version: number, role: string, serverNonce: Uint8Array, clientNonce: Uint8Array, side: 'client' | 'server'): SessionKeys {
  const master = createHmac('sha256', secret).update(`switchyard-cluster-v${version}|session|${role}|`).update(serverNonce).update('|').update(clientNonce).digest()
  const c2s = createHmac('sha256', master).update('client-to-server').digest()
  const s2c = createHmac('sha256', master).update('server-to-client').digest()
  return side === 'client' ? { send: c2s, receive: s2c } : { send: s2c, receive: c2s }
}

function tag(key: Buffer, seq: number, payload: Uint8Array): Buffer {
  // Sequence numbers are implicit (each side counts), so a frame is valid at exactly one position.
  const s = Buffer.allocUnsafe(8)
  s.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), 0)
  s.writeUInt32BE(seq >>> 0, 4)
  return createHmac('sha256', key).update(s).update(payload).digest()
}

/** The sending half: one MAC per frame, in send order. */
export class FrameSealer {
  readonly #key: Buffer
  #seq = 0

  constructor(key: Buffer) {
    this.#key = key
  }

  seal(payload: Uint8Array): Buffer {
    return tag(this.#key, this.#seq++, payload)
  }
}

/** The receiving half: checks and strips the MAC of each frame, in arrival order. */
export class FrameOpener {
  readonly #key: Buffer
  #seq = 0

  constructor(key: Buffer) {
    this.#key = key
  }

  /** The payload without its MAC; throws ERR_CLUSTER_FRAME_AUTH (the caller closes the connection). */
  open(frame: Buffer): Buffer {
    const seq = this.#seq++
    if (frame.length < MAC_BYTES) {
      throw new ClusterError(ClusterErrorCodes.FRAME_AUTH, `Cannot accept frame #${seq}: ${frame.length} bytes is too short to carry a MAC`)
    }
    const payload = frame.subarray(0, frame.length - MAC_BYTES)
    const expected = tag(this.#key, seq, payload)
    if (!timingSafeEqual(expected, frame.subarray(frame.length - MAC_BYTES))) {
      throw new ClusterError(ClusterErrorCodes.FRAME_AUTH, `Cannot accept frame #${seq}: MAC mismatch (the frame was altered, injected, replayed or reordered)`)
    }
    return payload
  }
}
