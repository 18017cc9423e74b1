// Hook phases and the failures on the request path: running one phase of plugin hooks (sync when
// the hooks are), a failed hook, a failed upstream attempt (onUpstreamError, then the error reply),
// and the small request/response facts the exchanges share. Imported by the handler and by both
// exchanges; imports neither.
import type { Http2ServerRequest } from 'node:http2'
import type { Logger } from '../internal/logger.js'
import type { AccessLog } from './access-log.js'
import { sendError } from './error-reply.js'
import { ProxyErrorCodes } from './errors.js'
import type { Generation } from './generation.js'
import { HANDLED, type ClientRequest, type HookResult, type ProxyHooks } from './plugin-api.js'
import type { ProxyMetrics } from './proxy-metrics.js'
import type { RequestContext } from './request-context.js'
import { guarded } from './request-guard.js'

export interface CoreDeps {
  readonly logger: Logger
  readonly metrics: ProxyMetrics
  readonly accessLog: AccessLog | undefined
  current(): Generation
}

export function hookFailed(deps: CoreDeps, ctx: RequestContext, err: unknown): void {
  deps.logger.error({ err, code: ProxyErrorCodes.HOOK_FAILED, request_id: ctx.id }, 'proxy hook failed')
  sendError(ctx, 500, ProxyErrorCodes.HOOK_FAILED, 'a proxy plugin failed')
}

export type HookCall = (h: ProxyHooks, ctx: RequestContext) => HookResult | Promise<HookResult>
export type Next = (deps: CoreDeps, ctx: RequestContext) => void

/** Runs one hook phase; `next` continues the pipeline unless a hook answered. Sync when hooks are. */
export function runPhase(deps: CoreDeps, ctx: RequestContext, hooks: readonly ProxyHooks[], call: HookCall, next: Next, from = 0): void {
  for (let i = from; i < hooks.length; i++) {
    let r: HookResult | Promise<HookResult>
    try {
      r = call(hooks[i] as ProxyHooks, ctx)
    } catch (err) {
      hookFailed(deps, ctx, err)
      return
    }
    if (r === HANDLED) {
      ctx.done = true
      return
    }
    if (r !== undefined && typeof (r as Promise<HookResult>).then === 'function') {
      ;(r as Promise<HookResult>).then(
        (v) => {
          if (v === HANDLED) ctx.done = true
          else if (!ctx.res.writableEnded && !ctx.res.destroyed) guarded(deps, ctx, runPhase, hooks, call, next, i + 1)
        },
        (err: unknown) => hookFailed(deps, ctx, err),
      )
      return
    }
  }
  next(deps, ctx)
}

export function requestHasBody(req: ClientRequest): boolean {
  if ('stream' in req) return !((req as Http2ServerRequest).stream as { endAfterHeaders?: boolean }).endAfterHeaders
  const cl = req.headers['content-length']
  return (cl !== undefined && cl !== '0') || req.headers['transfer-encoding'] !== undefined
}

/** Statuses an origin may answer with; anything else is answered 502 and never counts for health. */
export function validUpstreamStatus(status: number): boolean {
  return status >= 100 && status <= 599
}

export function upstreamFailed(deps: CoreDeps, ctx: RequestContext, err: Error, status: number, code: string, message: string): void {
  const hooks = ctx.gen.onUpstreamError
  if (hooks.length === 0) {
    sendError(ctx, status, code, message)
    return
  }
  runPhase(deps, ctx, hooks, (h) => h.onUpstreamError?.(ctx, err, status), () => sendError(ctx, status, code, message))
}
