import {
  type ErrorDetailsOptions,
  type KernelErrorCode,
  type SerializedError,
  TabswarmError,
} from '@tabswarm/protocol'

/**
 * The kernel errors, on the project-wide base (`@tabswarm/protocol`). Errors cross worker and peer
 * boundaries as `{ name, code, message }` (structured clone and comlink drop class
 * identity), so callers match on `name` or `code`, never on `instanceof` alone.
 */

/** No WebGPU, or no adapter could be had (blocklisted GPU, missing flags or drivers). */
export class GpuUnavailableError extends TabswarmError {
  override name = 'GpuUnavailableError' as const
  declare readonly code: KernelErrorCode
  constructor(shortMessage: string, options: ErrorDetailsOptions = {}) {
    super(shortMessage, { ...options, code: 'GPU_UNAVAILABLE' })
  }
}

/** The device was lost mid-call (driver reset, tab backgrounded, device destroyed). */
export class DeviceLostError extends TabswarmError {
  override name = 'DeviceLostError' as const
  declare readonly code: KernelErrorCode
  constructor(shortMessage: string, options: ErrorDetailsOptions = {}) {
    super(shortMessage, { ...options, code: 'DEVICE_LOST' })
  }
}

/** Dimensions or buffer lengths are invalid or inconsistent; the message names which. */
export class KernelShapeError extends TabswarmError {
  override name = 'KernelShapeError' as const
  declare readonly code: KernelErrorCode
  constructor(shortMessage: string, options: ErrorDetailsOptions = {}) {
    super(shortMessage, { ...options, code: 'KERNEL_SHAPE' })
  }
}

/** The request is well formed but exceeds this adapter's limits; the message names both. */
export class KernelLimitError extends TabswarmError {
  override name = 'KernelLimitError' as const
  declare readonly code: KernelErrorCode
  constructor(shortMessage: string, options: ErrorDetailsOptions = {}) {
    super(shortMessage, { ...options, code: 'KERNEL_LIMIT' })
  }
}

/** The call ran past its deadline. The GPU may still finish the work; its result is dropped. */
export class KernelTimeoutError extends TabswarmError {
  override name = 'KernelTimeoutError' as const
  declare readonly code: KernelErrorCode
  constructor(shortMessage: string, options: ErrorDetailsOptions = {}) {
    super(shortMessage, { ...options, code: 'KERNEL_TIMEOUT' })
  }
}

/** The caller aborted the call, or the host was destroyed under it. */
export class KernelAbortedError extends TabswarmError {
  override name = 'KernelAbortedError' as const
  declare readonly code: KernelErrorCode
  constructor(shortMessage: string, options: ErrorDetailsOptions = {}) {
    super(shortMessage, { ...options, code: 'KERNEL_ABORTED' })
  }
}

/**
 * Too many kernel workers were left running kernels that never finished (see
 * `createRespawningKernelWorker`'s `maxAbandoned`): no more are started, so every later
 * call fails with this until the page is reloaded.
 */
export class KernelWorkersWedgedError extends TabswarmError {
  override name = 'KernelWorkersWedgedError' as const
  declare readonly code: KernelErrorCode
  constructor(shortMessage: string, options: ErrorDetailsOptions = {}) {
    super(shortMessage, { ...options, code: 'KERNEL_WORKERS_WEDGED' })
  }
}

/** One message of the WGSL compiler, as `GPUCompilationMessage` reports it (plain data). */
export type KernelCompileMessage = {
  type: 'error' | 'warning' | 'info'
  message: string
  /** 1-based line in the WGSL source; 0 when the compiler gave no position. */
  line: number
  /** 1-based column (UTF-16 units) in that line; 0 when unknown. */
  column: number
}

/**
 * WGSL failed to compile, or the pipeline could not be built from it (missing entry
 * point, bindings that disagree with the declared ones). `messages` carries every
 * compiler message with its line and column; the message text lists them as
 * `line:column: text`, so a log line alone is enough to find the fault.
 */
export class KernelCompileError extends TabswarmError {
  override name = 'KernelCompileError' as const
  declare readonly code: KernelErrorCode
  readonly messages: KernelCompileMessage[]
  constructor(
    shortMessage: string,
    options: ErrorDetailsOptions & { messages?: KernelCompileMessage[] } = {},
  ) {
    const messages = options.messages ?? []
    const listed = messages.map((m) => `${m.line}:${m.column}: ${m.type}: ${m.message}`).join('\n')
    const details = [listed, options.details].filter(Boolean).join('\n')
    super(shortMessage, {
      code: 'KERNEL_COMPILE',
      ...(details ? { details } : {}),
      ...('cause' in options ? { cause: options.cause } : {}),
    })
    this.messages = messages
  }

  override toJSON(): SerializedError {
    return { ...super.toJSON(), message: this.shortMessage, data: { messages: this.messages } }
  }
}

/** WebGPU reported a validation or out-of-memory error while running a kernel. */
export class KernelExecutionError extends TabswarmError {
  override name = 'KernelExecutionError' as const
  declare readonly code: KernelErrorCode
  constructor(shortMessage: string, options: ErrorDetailsOptions = {}) {
    super(shortMessage, { ...options, code: 'KERNEL_EXECUTION' })
  }
}

type ErrorConstructor = new (message: string, options?: ErrorDetailsOptions) => TabswarmError

const knownErrors: Record<string, ErrorConstructor> = {
  KernelCompileError,
  GpuUnavailableError,
  DeviceLostError,
  KernelShapeError,
  KernelLimitError,
  KernelTimeoutError,
  KernelAbortedError,
  KernelExecutionError,
  KernelWorkersWedgedError,
}

/**
 * Rebuild an error that crossed a boundary. Accepts `{ name, code, message }` (or any
 * error carrying those, such as what comlink's default handler delivers): known names
 * come back as their subclass; unknown ones as a `TabswarmError` that keeps the sent
 * name and code, so matching on `name`/`code` works for other packages' errors too.
 * A `TabswarmError` is returned as is; anything else is wrapped with code `UNKNOWN`.
 *
 * @example
 * try { await api.run(req) } catch (err) { throw deserializeError(err) }
 */
export function deserializeError(value: unknown): TabswarmError {
  if (value instanceof TabswarmError) return value
  const serialized = isSerializedError(value) ? value : TabswarmError.serialize(value)
  const Known = Object.hasOwn(knownErrors, serialized.name)
    ? knownErrors[serialized.name]
    : undefined
  if (serialized.name === 'KernelCompileError') {
    const data = serialized.data as { messages?: unknown } | undefined
    const messages = Array.isArray(data?.messages)
      ? (data.messages as unknown[]).filter(isCompileMessage)
      : []
    return new KernelCompileError(serialized.message, { messages })
  }
  if (Known) return new Known(serialized.message)
  const err = new TabswarmError(serialized.message, {
    code: serialized.code,
    ...(value === serialized ? {} : { cause: value }),
  })
  err.name = serialized.name
  return err
}

function isCompileMessage(value: unknown): value is KernelCompileMessage {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return (
    (v.type === 'error' || v.type === 'warning' || v.type === 'info') &&
    typeof v.message === 'string' &&
    typeof v.line === 'number' &&
    typeof v.column === 'number'
  )
}

/** Whether a value looks like a `SerializedError` (e.g. after `JSON.parse`). */
export function isSerializedError(value: unknown): value is SerializedError {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return typeof v.name === 'string' && typeof v.code === 'string' && typeof v.message === 'string'
}
