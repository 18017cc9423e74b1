// Socket writes of the fast path are held until the end of the event-loop turn (the check phase,
// right after the poll phase whose reads caused them), then go out together. A write on loopback
// or a LAN runs the receiver's TCP input and wakes its process inside the syscall; in a VM that
// wake-up is an inter-processor interrupt and cost more than our whole HTTP work per request. Held
// to the turn's end, the answers to one batch of reads reach the peer (nginx upstream, the load
// generator) back to back, and it wakes once for the lot instead of once per write: CPU per small
// proxied request fell by a third in an A/B here (docs/benchmarks.md, issue #20).
//
// Holding is `cork()`: node's Writable keeps the order of everything written to the socket, and
// end()/destroySoon() release a held socket at once. Only destroy() drops held bytes, as it drops
// bytes the kernel has not sent; the fast path destroys a client socket only to abort an answer.
import type { Socket } from 'node:net'

let held: Socket[] = []
let scheduled = false

function release(): void {
  scheduled = false
  const sockets = held
  held = []
  // uncork() on a socket that ended or was destroyed meanwhile does nothing.
  for (let i = 0; i < sockets.length; i++) (sockets[i] as Socket).uncork()
}

/**
 * Holds `socket`'s writes until the end of this event-loop turn. A socket corked already (held
 * this turn, or inside a caller's own cork/uncork pair) is left as it is: the caller's uncork
 * then sends at once, which is only a missed batch, never a reordering.
 */
export function holdWrites(socket: Socket): void {
  if (socket.writableCorked !== 0) return
  socket.cork()
  held.push(socket)
  if (!scheduled) {
    scheduled = true
    setImmediate(release)
  }
}

/**
 * Writes up to this size are held to the end of the turn; a larger one goes out at once, as a
 * held write past the socket's 16 KiB high-water mark would report backpressure and pause the
 * upstream until the turn ends.
 */
export const HOLD_BYTES = 8 * 1024

/**
 * Before a write of `bytes` (body bytes besides a small head): holds the socket for a small one;
 * for a large one first sends what the socket holds. Called outside any cork/uncork pair of the
 * caller's, where a corked socket can only be held by holdWrites.
 */
export function holdForWrite(socket: Socket, bytes: number): void {
  if (bytes <= HOLD_BYTES) holdWrites(socket)
  else if (socket.writableCorked !== 0) socket.uncork()
}
