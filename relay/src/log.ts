/**
 * Structured logs: one JSON object per line on stderr, so operators can pipe them into any
 * collector. Injected everywhere as an interface; tests pass a silent or recording one.
 */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
  child(component: string): Logger
}

export function createJsonLogger(
  component = 'tabswarm',
  write = (line: string) => process.stderr.write(line),
): Logger {
  const emit = (level: string, msg: string, fields?: Record<string, unknown>) =>
    write(`${JSON.stringify({ t: new Date().toISOString(), level, component, msg, ...fields })}\n`)
  return {
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (name) => createJsonLogger(`${component}:${name}`, write),
  }
}

export const silentLogger: Logger = {
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
}
