// Public API of MapReduce cluster mode: switchyard/mapreduce/cluster (package.json "exports").
export { Coordinator, type CoordinatorOptions, type WorkerInfo as ClusterWorkerInfo, type CoordinatorCounters } from './coordinator.js'
export { Worker, type WorkerOptions, type RemoteTaskRunner, type RemoteTaskContext } from './worker.js'
export { ClusterExecutor, parseMaster, type ClusterExecutorOptions, type TaskRecord } from './cluster-executor.js'
export { EngineTaskRunner, type EngineRunnerOptions } from './engine-runner.js'
export { startClusterUi, startLocalUi, newUiToken, type ClusterUi } from './ui-server.js'
export { ClusterError, ClusterErrorCodes, type ClusterErrorCode } from './errors.js'
export { CLUSTER_DEFAULTS, type CommonClusterOptions } from './options.js'
