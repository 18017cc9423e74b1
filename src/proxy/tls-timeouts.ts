// Timeouts for TLS and HTTP/2 listeners, to match plain HTTP (issue 22 items 3 and 4): a TCP
// connection that never finishes its TLS handshake is dropped after the header timeout, and an
// HTTP/2 session with no open stream is closed after the keep-alive timeout, including one that
// node has sent GOAWAY on after a protocol error and would otherwise leave in CLOSE-WAIT forever,
// holding its per-IP connection slot.
import type { ServerHttp2Session, ServerHttp2Stream } from 'node:http2'
import type { Server as TlsServer } from 'node:tls'

/** tls.Server keeps its handshake timeout under a private symbol; set it so reloads apply too. */
export function setHandshakeTimeout(server: TlsServer, ms: number): void {
  const sym = Object.getOwnPropertySymbols(server).find((s) => s.description === 'handshake-timeout')
  if (sym !== undefined) (server as unknown as Record<symbol, number>)[sym] = ms
}

/**
 * Closes `session` once it has had no activity for `idleMs()` while no stream is still waiting
 * for its response; those are left to the request timeouts. Once closing (GOAWAY received, a
 * frame or session error) it is destroyed when idle whatever node thinks is still open.
 */
export function watchSessionIdle(session: ServerHttp2Session, idleMs: () => number): void {
  const streams = new Set<ServerHttp2Stream>()
  let closing = false
  session.on('stream', (stream: ServerHttp2Stream) => {
    streams.add(stream)
    stream.once('close', () => streams.delete(stream))
  })
  session.on('goaway', () => {
    closing = true
  })
  session.on('error', () => {
    closing = true
    session.destroy()
  })
  session.on('frameError', () => {
    closing = true
  })
  const arm = (): void => {
    const ms = idleMs()
    if (ms > 0) session.setTimeout(ms)
  }
  session.on('timeout', () => {
    if (session.destroyed) return
    // A stream still producing its response (waiting on the upstream) keeps the session. One
    // whose response is ended but has not flushed in a whole idle period is stuck: after node sent
    // GOAWAY for a protocol error nothing more is ever written, and its 'close' never comes.
    let live = 0
    for (const st of streams) if (!st.destroyed && !st.writableEnded) live++
    if (live === 0 || closing || session.closed) {
      session.destroy()
      return
    }
    arm()
  })
  arm()
}
