// The command table: each subsystem adds one line here and one file under commands/.
// Commands are loaded lazily so `switchyard --help` does not import every subsystem.

export interface Command {
  /** Runs the command; resolves to the exit code. Long-running commands resolve when stopped. */
  run(argv: string[]): Promise<number>
  /** Full help text for `switchyard <command> --help`. */
  help: string
}

export interface CommandEntry {
  summary: string
  load: () => Promise<Command>
}

const lazy = (path: string) => async (): Promise<Command> => ((await import(path)) as { command: Command }).command

export const commands: Record<string, CommandEntry> = {
  broker: { summary: 'Run the fan-out broker (NATS client protocol)', load: lazy('./commands/broker.js') },
  proxy: { summary: 'Run the reverse proxy from a config file', load: lazy('./commands/proxy.js') },
  run: { summary: 'Run a MapReduce job file (local or --master)', load: lazy('./commands/run.js') },
  coordinator: { summary: 'Run a MapReduce cluster coordinator', load: lazy('./commands/coordinator.js') },
  worker: { summary: 'Run a MapReduce cluster worker', load: lazy('./commands/worker.js') },
  demo: { summary: 'Run all three parts together with a live dashboard', load: lazy('./commands/demo.js') },
}
