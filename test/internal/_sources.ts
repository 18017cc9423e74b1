// Test helper: every TypeScript file below a directory (for the checks that scan src/).
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

export function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name)
    if (statSync(full).isDirectory()) sources(full, out)
    else if (name.endsWith('.ts')) out.push(full)
  }
  return out
}
