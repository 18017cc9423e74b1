// Slow-upload protection without touching the body stream: the socket's bytesRead is sampled on
// a coarse shared timer. A request body that makes no progress for `bodyIdleTimeoutMs`, or that
// arrives slower than `minUploadBytesPerSec` once `uploadGraceMs` has passed, ends with 408; one
// that grows past `maxBodyBytes` (counted on the wire, chunk framing included) ends with 413.
// Samples are skipped while the proxy itself is not reading (the request is paused by upstream
// backpressure), so a slow origin is not blamed on the client.
import type { IncomingMessage } from 'node:http'
import { CoarseTimerWheel } from '../../internal/timers.js'

export interface UploadGuardOptions {
  bodyIdleTimeoutMs: number
  /** 0 disables the rate check. */
  minUploadBytesPerSec: number
  uploadGraceMs: number
  /** 0 means unlimited. */
  maxBodyBytes: number
  /** Sample period. */
  sampleMs?: number
}

export type UploadVerdict = { status: 408 | 413; reason: 'body_idle' | 'upload_too_slow' | 'body_too_large' }

const wheel = new CoarseTimerWheel(250)

/**
 * Watches `req` until its body is complete or it closes. `onViolation` is called at most once;
 * the caller answers (if it still can) and destroys the socket. Returns a stop function.
 */
export function guardUpload(req: IncomingMessage, options: UploadGuardOptions, onViolation: (v: UploadVerdict) => void): () => void {
  const socket = req.socket
  if (req.complete || socket === null || (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined)) {
    return () => {}
  }
  const sampleMs = options.sampleMs ?? 500
  const start = socket.bytesRead
  const started = Date.now()
  let lastBytes = start
  let lastProgress = started
  let done = false
  const timer = wheel.setTimeout(tick, sampleMs)
  function stop(): void {
    if (done) return
    done = true
    timer.clear()
    req.off('end', stop)
    req.off('close', stop)
  }
  function violate(v: UploadVerdict): void {
    stop()
    onViolation(v)
  }
  function tick(): void {
    if (done) return
    if (req.complete || socket.destroyed) return stop()
    const now = Date.now()
    const bytes = socket.bytesRead
    if (options.maxBodyBytes > 0 && bytes - start > options.maxBodyBytes + 65_536) return violate({ status: 413, reason: 'body_too_large' })
    const paused = req.isPaused() || req.readableLength >= req.readableHighWaterMark
    if (bytes !== lastBytes || paused) {
      lastBytes = bytes
      lastProgress = now
    } else if (now - lastProgress >= options.bodyIdleTimeoutMs) {
      return violate({ status: 408, reason: 'body_idle' })
    }
    const elapsed = now - started
    if (!paused && options.minUploadBytesPerSec > 0 && elapsed >= options.uploadGraceMs) {
      const rate = ((bytes - start) * 1000) / elapsed
      if (rate < options.minUploadBytesPerSec) return violate({ status: 408, reason: 'upload_too_slow' })
    }
    timer.refresh()
  }
  req.once('end', stop)
  req.once('close', stop)
  return stop
}
