// `clientError` handling for the proxy's HTTP server: what llhttp refuses (smuggling shapes,
// oversized heads, header timeouts) gets a short 4xx and the connection is closed, so nothing
// after the bad bytes is ever parsed as a new request on that connection.
import type { Socket } from 'node:net'

export interface ClientErrorInfo {
  status: number
  /** llhttp / node error code (`HPE_INVALID_HEADER_TOKEN`, `ERR_HTTP_REQUEST_TIMEOUT`...). */
  code: string
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Content Too Large', 431: 'Request Header Fields Too Large' }

export function clientErrorStatus(code: string | undefined): number {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return 431
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADERS_TIMEOUT':
      return 408
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return 413
    default:
      return 400
  }
}

export function rawErrorResponse(status: number, body = `${status} ${REASONS[status] ?? 'Error'}\n`): string {
  return `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
}

/**
 * A `clientError` listener. Timeouts close the connection silently. Otherwise writes the 4xx only when no response is under way on the socket (the
 * same rule node's default handler uses), then destroys the socket once the bytes are flushed.
 */
export function createClientErrorHandler(onError?: (info: ClientErrorInfo, socket: Socket) => void): (err: Error & { code?: string }, socket: Socket) => void {
  return (err, socket) => {
    const status = clientErrorStatus(err.code)
    try {
      onError?.({ status, code: err.code ?? 'UNKNOWN' }, socket)
    } catch {
      // Observers must not decide whether the socket is closed.
    }
    // Timeouts (slowloris) are closed without an answer, as nginx does for client_header_timeout:
    // the client is not reading anyway, and under attack every saved write and timer counts.
    if (err.code === 'ECONNRESET' || status === 408 || !socket.writable) {
      socket.destroy()
      return
    }
    const inProgress = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
    if (inProgress?.headersSent === true) {
      socket.destroy()
      return
    }
    // The 4xx is a few bytes: the kernel buffer takes them even from a client that never reads,
    // so the end callback comes and the socket goes.
    socket.end(rawErrorResponse(status), () => socket.destroy())
  }
}
