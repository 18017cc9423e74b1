// The commands a Redis client can send and Redis's checks around them, in Redis's order: unknown
// command, arity, authentication (NOAUTH), then the RESP2 subscribed-mode restriction. Anything
// else answers `-ERR unknown command ...` as Redis does (in RESP2 subscribed mode, a command Redis
// has gets Redis's "Can't execute" instead, redis-commands.ts). The pub/sub work itself is in connection.ts.
import { packageVersion } from '../../internal/version.js'
import type { RespConnection } from './connection.js'
import { ReplyMode } from './connection.js'
import * as enc from './encode.js'
import { globMatch } from './glob.js'
import { REDIS_COMMANDS } from './redis-commands.js'
import { SubKind } from './sub.js'

/** The Redis version HELLO and INFO report (the command set and reply shapes this front-end follows). */
export const REDIS_VERSION = '7.2.4'

type Handler = (c: RespConnection, args: Buffer[]) => void

interface Spec {
  /** Redis arity: n exactly, or at least -n when negative (the command name included). */
  arity: number
  /** Runs before authentication. */
  noAuth?: boolean
  /** Allowed in RESP2 subscribed mode. */
  pubsub?: boolean
  run?: Handler
  sub?: Record<string, Spec>
}

const NOAUTH = 'NOAUTH Authentication required.'
const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.'
const SYNTAX = 'ERR syntax error'

const lower = (b: Buffer): string => b.toString('latin1').toLowerCase()
const text = (b: Buffer): string => b.toString()

function arityOk(arity: number, n: number): boolean {
  return arity >= 0 ? n === arity : n >= -arity
}

/** Redis's unknown-command text: the name as sent, then up to 128 characters of quoted arguments. */
function unknownCommand(args: Buffer[]): string {
  let tail = ''
  for (let i = 1; i < args.length && tail.length < 128; i++) tail += `'${text(args[i] as Buffer).slice(0, 128 - tail.length)}' `
  return `ERR unknown command '${text(args[0] as Buffer).slice(0, 128)}', with args beginning with: ${tail}`
}

function cantExecute(name: string): string {
  return `ERR Can't execute '${name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`
}

export function runCommand(c: RespConnection, args: Buffer[]): void {
  const name = c.commandName(args[0] as Buffer)
  let spec = COMMANDS[name]
  if (spec === undefined) {
    // A Redis command this front-end does not have: in RESP2 subscribed mode Redis refuses it by context.
    if (!c.resp3 && c.subscriptionCount > 0 && REDIS_COMMANDS.has(name)) return c.replyError(cantExecute(name))
    return c.replyError(unknownCommand(args))
  }
  let full = name
  if (spec.sub !== undefined && args.length >= 2) {
    const subName = lower(args[1] as Buffer)
    const s = spec.sub[subName]
    if (s === undefined) return c.replyError(`ERR unknown subcommand '${text(args[1] as Buffer).slice(0, 128)}'. Try ${name.toUpperCase()} HELP.`)
    spec = s
    full = `${name}|${subName}`
  }
  if (!arityOk(spec.arity, args.length)) return c.replyError(`ERR wrong number of arguments for '${full}' command`)
  if (!c.authenticated && spec.noAuth !== true) return c.replyError(NOAUTH)
  if (!c.resp3 && c.subscriptionCount > 0 && spec.pubsub !== true) return c.replyError(cantExecute(full))
  c.lastCommand = full
  ;(spec.run as Handler)(c, args)
}

// ---- connection commands ----------------------------------------------------------------------

function ping(c: RespConnection, args: Buffer[]): void {
  if (args.length > 2) return c.replyError(`ERR wrong number of arguments for 'ping' command`)
  if (!c.resp3 && c.subscriptionCount > 0) {
    // RESP2 subscribed mode: ["pong", message or ""].
    return c.reply(Buffer.concat([enc.arrayHead(2), enc.bulk('pong'), enc.bulk(args[1] ?? '')]))
  }
  c.reply(args.length === 2 ? enc.bulk(args[1] as Buffer) : enc.PONG)
}

function quit(c: RespConnection): void {
  c.reply(enc.OK)
  c.stopReading()
  c.close('client quit')
}

function reset(c: RespConnection): void {
  c.unsubscribeAll()
  c.resp3 = false
  c.version = '2'
  c.name = ''
  c.replyMode = ReplyMode.ON
  if (c.front.broker.authRequired) {
    c.authenticated = false
    c.user = ''
    c.permissions = undefined
  }
  c.push(enc.RESET)
}

function auth(c: RespConnection, args: Buffer[]): void {
  if (args.length > 3) return c.replyError(SYNTAX)
  const user = args.length === 3 ? text(args[1] as Buffer) : 'default'
  const pass = text(args[args.length - 1] as Buffer)
  if (!c.front.broker.authRequired) {
    if (args.length === 2) return c.replyError('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?')
    // Without broker auth every client is the passwordless `default` user.
    return user === 'default' ? c.reply(enc.OK) : c.replyError(WRONGPASS)
  }
  c.authenticate(user, pass, (ok) => (ok ? c.reply(enc.OK) : c.replyError(WRONGPASS)))
}

function validName(b: Buffer): boolean {
  for (const x of b) if (x < 33 || x > 126) return false
  return true
}

function hello(c: RespConnection, args: Buffer[]): void {
  let ver: number | undefined
  let i = 1
  if (args.length >= 2) {
    const v = text(args[1] as Buffer)
    const n = /^-?\d{1,19}$/.test(v) ? Number(v) : Number.NaN
    if (!Number.isSafeInteger(n)) return c.replyError('ERR Protocol version is not an integer or out of range')
    if (n < 2 || n > 3) return c.replyError('NOPROTO unsupported protocol version')
    ver = n
    i = 2
  }
  let user: string | undefined
  let pass = ''
  let name: Buffer | undefined
  for (; i < args.length; i++) {
    const opt = lower(args[i] as Buffer)
    const more = args.length - 1 - i
    if (opt === 'auth' && more >= 2) {
      user = text(args[i + 1] as Buffer)
      pass = text(args[i + 2] as Buffer)
      i += 2
    } else if (opt === 'setname' && more >= 1) {
      name = args[i + 1] as Buffer
      if (!validName(name)) return c.replyError('ERR Client names cannot contain spaces, newlines or special characters.')
      i += 1
    } else return c.replyError(`ERR Syntax error in HELLO option '${text(args[i] as Buffer)}'`)
  }
  const finish = (): void => {
    if (!c.authenticated) {
      return c.replyError('NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time')
    }
    if (name !== undefined) c.name = name.toString()
    if (ver !== undefined) {
      c.resp3 = ver === 3
      c.version = String(ver)
    }
    const r3 = c.resp3
    c.reply(
      Buffer.concat([
        enc.mapHead(7, r3),
        enc.bulk('server'),
        enc.bulk('redis'),
        enc.bulk('version'),
        enc.bulk(REDIS_VERSION),
        enc.bulk('proto'),
        enc.integer(r3 ? 3 : 2),
        enc.bulk('id'),
        enc.integer(c.cid),
        enc.bulk('mode'),
        enc.bulk('standalone'),
        enc.bulk('role'),
        enc.bulk('master'),
        enc.bulk('modules'),
        enc.arrayHead(0),
      ]),
    )
  }
  if (user === undefined) return finish()
  if (!c.front.broker.authRequired) return user === 'default' ? finish() : c.replyError(WRONGPASS)
  c.authenticate(user, pass, (ok) => (ok ? finish() : c.replyError(WRONGPASS)))
}

function select(c: RespConnection, args: Buffer[]): void {
  const v = text(args[1] as Buffer)
  if (!/^-?\d{1,19}$/.test(v)) return c.replyError('ERR value is not an integer or out of range')
  const n = Number(v)
  // Pub/sub ignores the database, as in Redis; the index is checked as Redis's default 16 databases.
  if (n < 0 || n > 15) return c.replyError('ERR DB index is out of range')
  c.reply(enc.OK)
}

function verbatim(c: RespConnection, body: string): Buffer {
  if (!c.resp3) return enc.bulk(body)
  const b = Buffer.from(`txt:${body}`)
  return Buffer.concat([Buffer.from(`=${b.length}\r\n`), b, enc.CRLF])
}

function info(c: RespConnection): void {
  const front = c.front
  const lines = [
    '# Server',
    `redis_version:${REDIS_VERSION}`,
    'redis_mode:standalone',
    `switchyard_version:${packageVersion()}`,
    `process_id:${process.pid}`,
    `tcp_port:${front.port}`,
    `uptime_in_seconds:${Math.floor((Date.now() - front.broker.start.getTime()) / 1000)}`,
    '',
    '# Clients',
    `connected_clients:${front.connections.size}`,
    '',
    '# Persistence',
    'loading:0',
    '',
    '# Stats',
    `pubsub_channels:${front.channelCounts.size}`,
    `pubsub_patterns:${front.patternCounts.size}`,
    `pubsubshard_channels:${front.shardCounts.size}`,
    '',
    '# Replication',
    'role:master',
    'connected_slaves:0',
    '',
  ]
  c.reply(verbatim(c, lines.join('\r\n')))
}

// ---- CLIENT -------------------------------------------------------------------------------------

function clientLine(c: RespConnection): string {
  const now = Date.now()
  const [sub, psub, ssub] = c.counts as [number, number, number]
  return [
    `id=${c.cid}`,
    `addr=${c.remoteAddress}:${c.remotePort}`,
    `laddr=`,
    `fd=-1`,
    `name=${c.name}`,
    `age=${Math.floor((now - c.start.getTime()) / 1000)}`,
    `idle=${Math.floor((now - c.lastActivity) / 1000)}`,
    `flags=${sub + psub + ssub > 0 ? 'P' : 'N'}`,
    'db=0',
    `sub=${sub}`,
    `psub=${psub}`,
    `ssub=${ssub}`,
    'multi=-1',
    `omem=${c.pendingBytes}`,
    `cmd=${c.lastCommand}`,
    `user=${c.user === '' ? 'default' : c.user}`,
    `resp=${c.resp3 ? 3 : 2}`,
    `lib-name=${c.libName}`,
    `lib-ver=${c.libVersion}`,
  ].join(' ')
}

function clientList(c: RespConnection, args: Buffer[]): void {
  let list = [...c.front.connections]
  for (let i = 2; i < args.length; i++) {
    const opt = lower(args[i] as Buffer)
    if (opt === 'type' && i + 1 < args.length) {
      const t = lower(args[++i] as Buffer)
      if (t !== 'normal' && t !== 'pubsub') return c.replyError(`ERR Unknown client type '${text(args[i] as Buffer)}'`)
      list = list.filter((x) => (x.subscriptionCount > 0) === (t === 'pubsub'))
    } else if (opt === 'id' && i + 1 < args.length) {
      const ids = new Set<number>()
      for (i++; i < args.length; i++) {
        const v = Number(text(args[i] as Buffer))
        if (!Number.isSafeInteger(v) || v <= 0) return c.replyError('ERR Invalid client ID')
        ids.add(v)
      }
      list = list.filter((x) => ids.has(x.cid))
    } else return c.replyError(SYNTAX)
  }
  c.reply(verbatim(c, list.map((x) => `${clientLine(x)}\n`).join('')))
}

function clientReply(c: RespConnection, args: Buffer[]): void {
  const mode = lower(args[2] as Buffer)
  if (mode === 'on') {
    c.replyMode = ReplyMode.ON
    c.reply(enc.OK)
  } else if (mode === 'off') c.replyMode = ReplyMode.OFF
  else if (mode === 'skip') {
    if (c.replyMode !== ReplyMode.OFF) c.replyMode = ReplyMode.SKIP
  } else c.replyError(SYNTAX)
}

function clientSetinfo(c: RespConnection, args: Buffer[]): void {
  const attr = lower(args[2] as Buffer)
  const value = args[3] as Buffer
  if (attr !== 'lib-name' && attr !== 'lib-ver') return c.replyError(`ERR Unrecognized option '${text(args[2] as Buffer)}'`)
  if (!validName(value) && value.length > 0) return c.replyError(`ERR ${attr} cannot contain spaces, newlines or special characters.`)
  if (attr === 'lib-name') c.libName = value.toString()
  else c.libVersion = value.toString()
  c.reply(enc.OK)
}

const CLIENT: Record<string, Spec> = {
  id: { arity: 2, run: (c) => c.reply(enc.integer(c.cid)) },
  getname: { arity: 2, run: (c) => c.reply(c.name === '' ? enc.nil(c.resp3) : enc.bulk(c.name)) },
  setname: {
    arity: 3,
    run: (c, a) => {
      const name = a[2] as Buffer
      if (!validName(name)) return c.replyError('ERR Client names cannot contain spaces, newlines or special characters.')
      c.name = name.toString()
      c.reply(enc.OK)
    },
  },
  list: { arity: -2, run: clientList },
  info: { arity: 2, run: (c) => c.reply(verbatim(c, `${clientLine(c)}\n`)) },
  reply: { arity: 3, run: clientReply },
  setinfo: { arity: 4, run: clientSetinfo },
  help: { arity: 2, run: (c) => c.reply(helpReply(['CLIENT <subcommand>', 'GETNAME', 'ID', 'INFO', 'LIST [TYPE normal|pubsub] [ID id ...]', 'REPLY ON|OFF|SKIP', 'SETINFO LIB-NAME|LIB-VER <value>', 'SETNAME <name>'])) },
}

function helpReply(lines: string[]): Buffer {
  return Buffer.concat([enc.arrayHead(lines.length), ...lines.map((l) => enc.simple(l))])
}

// ---- PUBSUB ------------------------------------------------------------------------------------

function channelsOf(c: RespConnection, counts: Map<string, number>, args: Buffer[]): void {
  const pattern = args[2]
  const out: Buffer[] = []
  for (const key of counts.keys()) {
    const ch = Buffer.from(key, 'latin1')
    if (pattern === undefined || globMatch(pattern, ch)) out.push(ch)
  }
  c.reply(enc.bulkArray(out))
}

function numsubOf(c: RespConnection, counts: Map<string, number>, args: Buffer[]): void {
  // A flat array in RESP3 too, as Redis answers.
  const parts: Buffer[] = [enc.arrayHead((args.length - 2) * 2)]
  for (let i = 2; i < args.length; i++) {
    const ch = args[i] as Buffer
    parts.push(enc.bulk(ch), enc.integer(counts.get(ch.toString('latin1')) ?? 0))
  }
  c.reply(Buffer.concat(parts))
}

const PUBSUB: Record<string, Spec> = {
  channels: { arity: -2, run: (c, a) => (a.length > 3 ? c.replyError(`ERR wrong number of arguments for 'pubsub|channels' command`) : channelsOf(c, c.front.channelCounts, a)) },
  numsub: { arity: -2, run: (c, a) => numsubOf(c, c.front.channelCounts, a) },
  numpat: { arity: 2, run: (c) => c.reply(enc.integer(c.front.patternCounts.size)) },
  shardchannels: { arity: -2, run: (c, a) => (a.length > 3 ? c.replyError(`ERR wrong number of arguments for 'pubsub|shardchannels' command`) : channelsOf(c, c.front.shardCounts, a)) },
  shardnumsub: { arity: -2, run: (c, a) => numsubOf(c, c.front.shardCounts, a) },
  help: { arity: 2, run: (c) => c.reply(helpReply(['PUBSUB <subcommand>', 'CHANNELS [<pattern>]', 'NUMPAT', 'NUMSUB [<channel> ...]', 'SHARDCHANNELS [<pattern>]', 'SHARDNUMSUB [<shardchannel> ...]'])) },
}

// ---- the table ---------------------------------------------------------------------------------

const COMMANDS: Record<string, Spec> = {
  ping: { arity: -1, pubsub: true, run: ping },
  echo: { arity: 2, run: (c, a) => c.reply(enc.bulk(a[1] as Buffer)) },
  quit: { arity: -1, noAuth: true, pubsub: true, run: quit },
  reset: { arity: 1, noAuth: true, pubsub: true, run: reset },
  auth: { arity: -2, noAuth: true, run: auth },
  hello: { arity: -1, noAuth: true, run: hello },
  select: { arity: 2, run: select },
  info: { arity: -1, run: info },
  subscribe: { arity: -2, pubsub: true, run: (c, a) => c.subscribe(a.slice(1), SubKind.CHANNEL) },
  unsubscribe: { arity: -1, pubsub: true, run: (c, a) => c.unsubscribe(a.slice(1), SubKind.CHANNEL) },
  psubscribe: { arity: -2, pubsub: true, run: (c, a) => c.subscribe(a.slice(1), SubKind.PATTERN) },
  punsubscribe: { arity: -1, pubsub: true, run: (c, a) => c.unsubscribe(a.slice(1), SubKind.PATTERN) },
  ssubscribe: { arity: -2, pubsub: true, run: (c, a) => c.subscribe(a.slice(1), SubKind.SHARD) },
  sunsubscribe: { arity: -1, pubsub: true, run: (c, a) => c.unsubscribe(a.slice(1), SubKind.SHARD) },
  publish: { arity: 3, run: (c, a) => c.publish(a[1] as Buffer, a[2] as Buffer) },
  spublish: { arity: 3, run: (c, a) => c.publish(a[1] as Buffer, a[2] as Buffer) },
  pubsub: { arity: -2, sub: PUBSUB },
  client: { arity: -2, sub: CLIENT },
}
