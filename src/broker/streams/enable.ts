// Turns on JetStream for a listening broker: attaches the API, marks INFO and adds the /jsz and
// /metrics/jetstream monitor routes. Imported by startBroker only when `jetstream` is configured.
import type { Broker } from '../server.js'
import { intParam } from '../monitor.js'
import { createMetricsRegistry } from '../../internal/metrics.js'
import { attachJetStream, JSZ_PAGE_LIMIT } from './jetstream.js'
import { registerJetStreamMetrics } from './metrics.js'
import type { JetStreamOptions } from './options.js'

export async function enableJetStream(broker: Broker, options: JetStreamOptions): Promise<void> {
  const js = await attachJetStream(broker, { logger: broker.logger, ...options })
  broker.jetstream = js
  broker.infoExtra['jetstream'] = true
  broker.monitor?.json('/jsz', (_req, url) => js.jsz({ offset: intParam(url, 'offset', 0), limit: intParam(url, 'limit', JSZ_PAGE_LIMIT) }))
  if (broker.monitor !== undefined) {
    const registry = createMetricsRegistry({ processMetrics: false })
    registerJetStreamMetrics(registry, () => js.jsz({ limit: Number.MAX_SAFE_INTEGER }), js.counters)
    broker.monitor.route('GET', '/metrics/jetstream', async (_req, res) => {
      const text = await registry.metrics()
      res.writeHead(200, { 'content-type': registry.contentType })
      res.end(text)
    })
  }
}
