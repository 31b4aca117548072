/**
 * Structured logs: one JSON object per line on stderr, so operators can pipe them into any
 * collector. Injected everywhere as an interface; tests pass a silent or recording one.
 */
export interface Logger {
  /** Optional so that loggers written before it existed still fit; call as `log.debug?.()`. */
  debug?(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  /** A logger whose lines name `component` under this one, e.g. `tabswarm:http`. */
  child(component: string): Logger
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error']

export interface JsonLoggerOptions {
  /** Name on every line. @default 'tabswarm' */
  component?: string
  /** Lines below this level are dropped. @default 'info' */
  level?: LogLevel
  /** Where each line goes, newline included. @default process.stderr.write */
  write?: (line: string) => void
  /** @default () => new Date() */
  now?: () => Date
}

/**
 * Field names whose values never reach a log line, at any depth: credentials a request or
 * an error might carry.
 */
const SECRET_FIELD =
  /^(authorization|cookie|set-cookie|api[-_]?key|x-api-key|password|secret|token|private[-_]?key|signature|x-tabswarm-signature)$/i

const REDACTED = '[redacted]'

/** A copy of `value` with secret fields replaced, safe to serialise (cycles cut, depth capped). */
export function redactSecrets(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (value == null || typeof value !== 'object') {
    return typeof value === 'bigint' ? value.toString() : value
  }
  if (value instanceof Error)
    return { name: value.name, message: value.message, stack: value.stack }
  if (seen.has(value) || depth > 8) return '[cut]'
  seen.add(value)
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1, seen))
  const out: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(value)) {
    out[key] = SECRET_FIELD.test(key) ? REDACTED : redactSecrets(field, depth + 1, seen)
  }
  return out
}

/**
 * A logger that writes JSON lines: `{ t, level, component, msg, ...fields }`, secrets
 * redacted.
 *
 * @example
 * const log = createJsonLogger({ level: 'debug' })
 * log.child('http').info('request', { requestId, status: 200 })
 */
export function createJsonLogger(options: JsonLoggerOptions = {}): Logger {
  const component = options.component ?? 'tabswarm'
  const threshold = LOG_LEVELS.indexOf(options.level ?? 'info')
  const write = options.write ?? ((line: string) => void process.stderr.write(line))
  const now = options.now ?? (() => new Date())
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LOG_LEVELS.indexOf(level) < threshold) return
    const extra = fields == null ? {} : (redactSecrets(fields) as Record<string, unknown>)
    write(`${JSON.stringify({ t: now().toISOString(), level, component, msg, ...extra })}\n`)
  }
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (name) => createJsonLogger({ ...options, component: `${component}:${name}` }),
  }
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
}
