// For module-probe child processes: records every module this process loads from now on (ESM
// through a load hook on the loader thread, CommonJS through require.cache). Call the returned
// function once the work is done; it waits a moment for the hook thread's last messages.
import { createRequire, register } from 'node:module'
import { MessageChannel } from 'node:worker_threads'

export function recordModules(): () => Promise<string[]> {
  const { port1, port2 } = new MessageChannel()
  const esm = new Set<string>()
  port1.on('message', (url: string) => esm.add(url))
  port1.unref()
  const hooks = `let port
export function initialize(data) { port = data.port }
export async function load(url, context, next) {
  if (!url.startsWith('node:')) port.postMessage(url)
  return next(url, context)
}`
  register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { port: port2 }, transferList: [port2] })
  return async () => {
    // The hook thread posts asynchronously: give its last messages a moment to arrive.
    await new Promise((r) => setTimeout(r, 200))
    return [...esm, ...Object.keys(createRequire(import.meta.url).cache)]
  }
}
