// Entry point of a local worker process (forked by LocalExecutor): runs the tasks the driver sends
// over the IPC channel and answers with results or failures. Exits when the driver goes away.
import { rmSync } from 'node:fs'
import { LocalShuffleFetcher, LocalShuffleStore } from './local-shuffle-store.js'
import { runTask } from './task-runner.js'
import { dropCached } from './cache-store.js'
import type { TaskDescription } from './task-spec.js'
import { failureOf } from './fetch-failed.js'
import type { DriverMessage, WorkerMessage } from './local-protocol.js'

const send = (msg: WorkerMessage): void => {
  process.send?.(msg)
}


async function run(task: TaskDescription): Promise<void> {
  try {
    const services = { store: new LocalShuffleStore(task.scratchDir), fetcher: new LocalShuffleFetcher(task.scratchDir) }
    const outcome = await runTask(task, services)
    send({ type: 'result', taskId: task.taskId, result: outcome.result, metrics: outcome.metrics })
  } catch (err) {
    send({ type: 'failed', taskId: task.taskId, failure: failureOf(err) })
  }
}

process.on('message', (msg: DriverMessage) => {
  if (msg.type === 'task') void run(msg.task)
  else if (msg.type === 'end-job') rmSync(`${msg.scratchDir}/spill`, { recursive: true, force: true })
  else if (msg.type === 'drop-cache') dropCached(msg.cacheKey)
})
process.on('disconnect', () => process.exit(0))
send({ type: 'ready', pid: process.pid })
