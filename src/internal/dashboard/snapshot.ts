// The data contract between the live dashboard page and whatever serves it (the demo, a standalone
// broker's monitor port, a proxy's admin port). Every pane is optional: the page shows what it gets.

export interface ProxyServerSnapshot {
  id: string
  pool: string
  region?: string
  /** healthy | unhealthy | ejected | draining | down */
  state: string
  requests: number
  active?: number
}

export interface ProxySnapshot {
  requests: number
  /** Responses by status class: 2xx, 3xx, 4xx, 5xx. */
  statusClasses: Record<string, number>
  servers: ProxyServerSnapshot[]
  /** Requests per region the proxy sent traffic to. */
  regions: Record<string, number>
  cache: { hits: number; misses: number; stale?: number; bypass?: number }
  limited: number
}

export interface StreamSnapshot {
  name: string
  messages: number
  bytes: number
  consumers: { name: string; pending: number; ackPending: number; delivered?: number }[]
}

export interface BrokerSnapshot {
  inMsgs: number
  outMsgs: number
  inBytes: number
  outBytes: number
  connections: number
  subscriptions: number
  slowConsumers: number
  streams?: StreamSnapshot[]
  /** The cluster as this node sees it: itself, its routes and its leafnode links. */
  cluster?: ClusterSnapshot
}

export interface ClusterNodeSnapshot {
  name: string
  /** `self`, a `route` peer, or a `leaf` link (hub or spoke). */
  kind: 'self' | 'route' | 'leaf'
  addr: string
  inMsgs: number
  outMsgs: number
  /** Interest the peer announced to this node (0 for self). */
  subscriptions: number
  tls?: boolean
}

export interface ClusterSnapshot {
  name: string
  nodes: ClusterNodeSnapshot[]
}

export interface JobStageSnapshot {
  id: number
  name: string
  tasks: number
  durationMs: number
  shuffleBytes?: number
  spillBytes?: number
}

export interface MapReduceSnapshot {
  jobs: number
  lastJob?: {
    id: string
    finishedAt: number
    durationMs: number
    stages: JobStageSnapshot[]
    /** Named result tables: rows of plain values. */
    results: Record<string, Record<string, string | number>[]>
  }
}

export interface DashboardSnapshot {
  /** Milliseconds since the epoch when the snapshot was taken. */
  time: number
  title?: string
  proxy?: ProxySnapshot
  broker?: BrokerSnapshot
  mapreduce?: MapReduceSnapshot
  /** Free-form extra counters (the demo's traffic generator, alerts...). */
  extra?: Record<string, number | string>
}
