// The last-resort guard of the request path: whatever throws synchronously inside a phase (a
// balancer, a plugin's sync code, header building) ends that one request with a 500 and a log line
// carrying ERR_PROXY_INTERNAL, never the process. Async hook failures have their own path
// (hookFailed); this covers the code between them.
import type { ServerResponse } from 'node:http'
import { ProxyErrorCodes } from './errors.js'
import type { RequestContext } from './request-context.js'
import type { CoreDeps } from './request-phases.js'
import { sendError } from './error-reply.js'

/** Answers 500 (or cuts the response if it already started) and logs; never throws itself. */
export function requestCrashed(deps: CoreDeps, ctx: RequestContext, err: unknown): void {
  try {
    deps.logger.error({ err, code: ProxyErrorCodes.INTERNAL, request_id: ctx.id, method: ctx.method, path: ctx.path }, 'request path threw; answered 500')
  } catch {
    // A logger that throws must not take the request (or the process) with it.
  }
  try {
    ctx.log.error = ProxyErrorCodes.INTERNAL
    if (ctx.res.writableEnded) return
    sendError(ctx, 500, ProxyErrorCodes.INTERNAL, 'internal proxy error')
  } catch {
    try {
      ;(ctx.res as ServerResponse).destroy()
    } catch {
      // nothing left to do
    }
  }
}

/** Runs one synchronous step of the pipeline under the guard. */
export function guarded<A extends unknown[]>(deps: CoreDeps, ctx: RequestContext, step: (deps: CoreDeps, ctx: RequestContext, ...args: A) => void, ...args: A): void {
  try {
    step(deps, ctx, ...args)
  } catch (err) {
    requestCrashed(deps, ctx, err)
  }
}
