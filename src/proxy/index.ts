// Public API of switchyard/proxy.
export { ProxyServer, type ProxyServerOptions, type BoundListener } from './proxy-server.js'
export { DEFAULTS, proxyConfigSchema, parseProxyConfig, loadProxyConfig, resolveProxyConfig, type ProxyConfig, type ProxyConfigInput } from './config.js'
export { ProxyError, ProxyErrorCodes, type ProxyErrorCode } from './errors.js'
export { HANDLED, respond } from './plugin-api.js'
export type * from './plugin-api.js'
export { balancers, createBalancer, type Balancer, type BalancerTarget, type BalancerPolicy } from './balancers/index.js'
export { ConfigWatcher } from './config-watcher.js'
export { builtinPlugins } from './plugins.js'
