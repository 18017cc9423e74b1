// MQTT topics and NATS subjects (docs/broker.md, "MQTT clients"): levels `/` <-> tokens `.`;
// filter wildcards `+` -> `*`, `#` -> `>`. Inside a level, the bytes a subject token cannot hold
// (`.`, whitespace, `*`/`>` that would read as wildcards) and `%` itself are percent-encoded
// (`a.b/c` -> `a%2Eb.c`); an empty level is the token `%` (`/a` -> `%.a`). Decoding never throws:
// `%` not followed by two hex digits stays as it is.
import { malformed, protocolError, Reason } from './errors.js'

const HEX = '0123456789ABCDEF'

function needsEscape(c: number): boolean {
  return c === 46 /* . */ || c === 37 /* % */ || c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11
}

/** One topic level as a subject token (no wildcard handling). */
function levelToToken(level: string): string {
  if (level === '') return '%'
  if (level === '*' || level === '>') return `%${HEX[level.charCodeAt(0) >> 4]}${HEX[level.charCodeAt(0) & 15]}`
  let out: string | undefined
  let from = 0
  for (let i = 0; i < level.length; i++) {
    const c = level.charCodeAt(i)
    if (!needsEscape(c)) continue
    out = (out ?? '') + level.slice(from, i) + `%${HEX[c >> 4]}${HEX[c & 15]}`
    from = i + 1
  }
  return out === undefined ? level : out + level.slice(from)
}

/** A topic name (no wildcards, already validated) as a literal subject. */
export function topicToSubject(topic: string): string {
  // Fast path: nothing to escape, no empty level.
  let plain = topic.length > 0 && topic.charCodeAt(0) !== 47 && topic.charCodeAt(topic.length - 1) !== 47
  if (plain) {
    for (let i = 0; i < topic.length; i++) {
      const c = topic.charCodeAt(i)
      if (needsEscape(c) || c === 42 || c === 62 || (c === 47 && topic.charCodeAt(i + 1) === 47)) {
        plain = false
        break
      }
    }
  }
  if (plain) return topic.replaceAll('/', '.')
  return topic.split('/').map(levelToToken).join('.')
}

/** A topic filter (validated) as a subscription subject; `a/#` also needs `a` (see filterSubjects). */
function filterToSubject(filter: string): string {
  return filter
    .split('/')
    .map((l) => (l === '+' ? '*' : l === '#' ? '>' : levelToToken(l)))
    .join('.')
}

/**
 * The subjects that together match exactly what `filter` matches: `a/#` matches `a` itself as well
 * as everything below it, which NATS spells as two subjects (`a` and `a.>`).
 */
export function filterSubjects(filter: string): string[] {
  const s = filterToSubject(filter)
  if (filter.endsWith('/#')) return [s.slice(0, -2), s]
  return [s]
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 65 && c <= 70) return c - 55
  if (c >= 97 && c <= 102) return c - 87
  return -1
}

/** A subject as the topic an MQTT client sees. Total: any subject gives some topic. */
export function subjectToTopic(subject: string): string {
  if (subject.indexOf('%') === -1) return subject.replaceAll('.', '/')
  const tokens = subject.split('.')
  for (let t = 0; t < tokens.length; t++) {
    const tok = tokens[t] as string
    if (tok === '%') {
      tokens[t] = ''
      continue
    }
    if (tok.indexOf('%') === -1) continue
    let out = ''
    for (let i = 0; i < tok.length; i++) {
      const c = tok.charCodeAt(i)
      if (c === 37 && i + 2 < tok.length && hexVal(tok.charCodeAt(i + 1)) >= 0 && hexVal(tok.charCodeAt(i + 2)) >= 0) {
        out += String.fromCharCode(hexVal(tok.charCodeAt(i + 1)) * 16 + hexVal(tok.charCodeAt(i + 2)))
        i += 2
      } else out += tok[i]
    }
    tokens[t] = out
  }
  return tokens.join('/')
}

/** A topic name for PUBLISH or a will: non-empty, no wildcards (MQTT-3.3.2-2, 4.7.3-1). */
export function checkTopicName(topic: string): void {
  if (topic.length === 0) throw protocolError('Cannot publish to an empty topic name', Reason.TOPIC_NAME_INVALID)
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i)
    if (c === 43 || c === 35) throw protocolError(`Cannot publish to ${JSON.stringify(topic)}: wildcards are not allowed in topic names`, Reason.TOPIC_NAME_INVALID)
  }
}

export interface ParsedFilter {
  /** The filter without `$share/<group>/`. */
  filter: string
  /** Shared subscription group, undefined for an ordinary subscription. */
  group: string | undefined
}

/**
 * Validates a topic filter (MQTT-4.7.1-1/2/3, 4.7.3-1, 4.8.2-1/2): `#` alone and last, `+` alone
 * in its level, shared groups non-empty without wildcards or `/`. Malformed Packet otherwise.
 */
export function parseFilter(text: string): ParsedFilter {
  let filter = text
  let group: string | undefined
  if (text.startsWith('$share/')) {
    const slash = text.indexOf('/', 7)
    group = slash === -1 ? text.slice(7) : text.slice(7, slash)
    if (slash === -1 || group === '' || /[+#]/.test(group)) throw malformed(`Cannot subscribe to ${JSON.stringify(text)}: expected $share/<group>/<filter>`)
    filter = text.slice(slash + 1)
  }
  if (filter.length === 0) throw malformed(`Cannot subscribe to ${JSON.stringify(text)}: empty topic filter`)
  const levels = filter.split('/')
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i] as string
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) throw malformed(`Cannot subscribe to ${JSON.stringify(text)}: "#" must be a whole level and the last one`)
    if (l.includes('+') && l !== '+') throw malformed(`Cannot subscribe to ${JSON.stringify(text)}: "+" must be a whole level`)
  }
  return { filter, group }
}

/** Whether a topic name matches a (validated) filter, with the `$` rule of MQTT-4.7.2-1 (for retained messages). */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.charCodeAt(0) === 36 /* $ */ && (filter.charCodeAt(0) === 43 || filter.charCodeAt(0) === 35)) return false
  const f = filter.split('/')
  const t = topic.split('/')
  for (let i = 0; i < f.length; i++) {
    const l = f[i] as string
    if (l === '#') return true
    if (i >= t.length) return false
    if (l !== '+' && l !== t[i]) return false
  }
  return f.length === t.length
}

/** Whether a filter starts with a wildcard: such a subscription must not receive `$...` topics (MQTT-4.7.2-1). */
export function startsWithWildcard(filter: string): boolean {
  const c = filter.charCodeAt(0)
  return c === 43 || c === 35
}

/** A shared group as a queue-group name (no whitespace in NATS queue names). */
export function groupToQueue(group: string): string {
  return levelToToken(group)
}
