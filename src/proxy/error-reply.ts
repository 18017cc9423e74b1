// The proxy's own error replies: a short text body naming the error code, or a cut connection
// when the response has already started.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { RequestContext } from './request-context.js'

export function sendError(ctx: RequestContext, status: number, code: string, message: string): void {
  ctx.done = true
  ctx.log.error ??= code
  const res = ctx.res as ServerResponse
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = `${status} ${message} (${code})\n`
  const headers: OutgoingHttpHeaders = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-switchyard-error': code,
  }
  if (ctx.id !== '') headers[ctx.gen.config.headers.requestId || 'x-request-id'] = ctx.id
  if (status === 503) headers['retry-after'] = '1'
  // Counted before end(): the fast path's end() emits 'close', which writes the access log line.
  ctx.bytesSent = ctx.method === 'HEAD' ? 0 : Buffer.byteLength(body)
  res.writeHead(status, headers)
  res.end(ctx.method === 'HEAD' ? undefined : body)
}
