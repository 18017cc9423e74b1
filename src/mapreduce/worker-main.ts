// Entry point of a local worker process (forked by LocalExecutor): runs the tasks the driver sends
// over the IPC channel and answers with results or failures. Exits when the driver goes away, at
// once even in the middle of a task (orphan-watcher.ts).
import { rmSync } from 'node:fs'
import { LocalShuffleFetcher, LocalShuffleStore } from './local-shuffle-store.js'
import { runTask } from './task-runner.js'
import { dropCached } from './cache-store.js'
import type { TaskDescription } from './task-spec.js'
import { failureOf } from './fetch-failed.js'
import type { DriverMessage, WorkerMessage } from './local-protocol.js'
import { leaveWithParent } from './orphan-watcher.js'

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
// The driver is gone: its 'disconnect' waits for the event loop, which a running task may hold for
// hours; the watcher thread notices a killed driver within 10 ms (orphan-watcher.ts).
process.on('disconnect', leaveWithParent())
send({ type: 'ready', pid: process.pid })
