// Cookie lookups on client bytes for sticky sessions and cookie hashing. Never throws: a value
// that is not valid percent-encoding (`session=%zz`) is used as sent, like the `cookie` package.

/** Percent-decodes `v`; returns it unchanged when it is not valid percent-encoding. */
export function safeDecode(v: string): string {
  if (!v.includes('%')) return v
  try {
    return decodeURIComponent(v)
  } catch {
    return v
  }
}

/** The first cookie called `name` in a Cookie header (or several, joined by `; `), decoded. */
export function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined
  const text = Array.isArray(header) ? header.join('; ') : header
  for (const part of text.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return safeDecode(part.slice(eq + 1).trim())
  }
  return undefined
}
