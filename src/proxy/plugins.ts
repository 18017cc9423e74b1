// The plugin list: protection, cache and GSLB modules register here (one import + one entry each).
// Order matters: hooks run in this order, and the first 'handled' answer stops the chain, so
// protection (cheap rejections) comes before the cache, and the cache before GSLB pool selection.
import type { ProxyPlugin } from './plugin-api.js'
import { cachePlugin } from './cache/plugin.js'
import { geoPlugin } from './geo/plugin.js'
import { protectPlugin } from './protect/plugin.js'

export const builtinPlugins: readonly ProxyPlugin[] = [
  protectPlugin, //   src/proxy/protect  (limits, ACL, smuggling checks)
  cachePlugin, //     src/proxy/cache    (RFC 9111 shared cache)
  geoPlugin, //       src/proxy/geo      (GSLB)
]
