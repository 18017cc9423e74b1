// Prometheus metrics registry shared by the subsystems; each subsystem registers its own metrics on
// the registry it is given so that one process can expose all of them on one /metrics route.
import { Registry, collectDefaultMetrics, Counter, Gauge, Histogram } from 'prom-client'

export { Registry, Counter, Gauge, Histogram }

export interface MetricsRegistryOptions {
  /** Collect Node.js process metrics (CPU, memory, event-loop lag). Default: true. */
  processMetrics?: boolean
  /** Prefix for the process metrics. Default: `switchyard_`. */
  prefix?: string
}

export function createMetricsRegistry(options: MetricsRegistryOptions = {}): Registry {
  const registry = new Registry()
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: options.prefix ?? 'switchyard_' })
  }
  return registry
}
