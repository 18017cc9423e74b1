// The package version, read from package.json (works from src/ under tsx and from dist/).
import { readFileSync } from 'node:fs'

let cached: string | undefined

export function packageVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    cached = pkg.version
  }
  return cached
}
