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

export const commands: Record<string, CommandEntry> = {
}
