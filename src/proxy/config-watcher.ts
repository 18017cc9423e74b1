// Watches a config file (and the certificate files it names) and calls back on content changes;
// directories are watched so that editors which replace the file by rename are seen too.
import { watch, readFileSync, type FSWatcher } from 'node:fs'
import { basename, dirname, resolve } from 'node:path'
import { createHash } from 'node:crypto'

export class ConfigWatcher {
  readonly #onChange: () => void
  readonly #debounceMs: number
  #watchers: FSWatcher[] = []
  #digests = new Map<string, string>()
  #timer: NodeJS.Timeout | undefined

  constructor(onChange: () => void, debounceMs = 150) {
    this.#onChange = onChange
    this.#debounceMs = debounceMs
  }

  #digest(file: string): string {
    try {
      return createHash('sha1').update(readFileSync(file)).digest('hex')
    } catch {
      return 'missing'
    }
  }

  /** (Re)starts watching exactly these files. */
  watch(files: readonly string[]): void {
    this.close()
    const byDir = new Map<string, Set<string>>()
    for (const f of files.map((x) => resolve(x))) {
      this.#digests.set(f, this.#digest(f))
      const set = byDir.get(dirname(f)) ?? new Set()
      set.add(basename(f))
      byDir.set(dirname(f), set)
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          if (name === null || names.has(String(name))) this.#schedule()
        })
        w.on('error', () => {})
        this.#watchers.push(w)
      } catch {
        // A missing directory cannot be watched; SIGHUP still works.
      }
    }
  }

  #schedule(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      let changed = false
      for (const [f, d] of this.#digests) {
        const now = this.#digest(f)
        if (now !== d) {
          this.#digests.set(f, now)
          changed = true
        }
      }
      if (changed) this.#onChange()
    }, this.#debounceMs)
    this.#timer.unref()
  }

  close(): void {
    for (const w of this.#watchers) w.close()
    this.#watchers = []
    if (this.#timer !== undefined) clearTimeout(this.#timer)
  }
}
