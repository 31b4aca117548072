/**
 * The project-wide error base. Errors cross worker and peer boundaries as
 * `{ name, code, message }` (structured clone and comlink drop class identity), so callers
 * match on `name` or `code`, never on `instanceof` alone.
 */

/** Options every Tabswarm error takes. */
export type TabswarmErrorOptions = {
  /** Stable machine-readable code, e.g. `KERNEL_SHAPE`. */
  code: string
  /** Longer explanation appended to the message (values, limits, hints). */
  details?: string
  /** The underlying error, if this one wraps another. */
  cause?: unknown
}

/** Options of the concrete subclasses, whose code is fixed. */
export type ErrorDetailsOptions = { details?: string; cause?: unknown }

/**
 * What crosses a worker or peer boundary in place of an error object. `data` carries
 * structured detail some errors need on the far side (e.g. compiler messages); it must
 * be structured-cloneable and JSON-safe.
 */
export type SerializedError = { name: string; code: string; message: string; data?: unknown }

/**
 * Base class of every error Tabswarm throws on purpose.
 *
 * @example
 * class LeaseExpiredError extends TabswarmError {
 *   override name = 'LeaseExpiredError' as const
 *   constructor(id: string) { super(`Lease ${id} expired.`, { code: 'LEASE_EXPIRED' }) }
 * }
 */
export class TabswarmError extends Error {
  override name = 'TabswarmError'
  readonly code: string
  readonly shortMessage: string
  readonly details: string | undefined

  constructor(shortMessage: string, options: TabswarmErrorOptions) {
    const message = options.details
      ? `${shortMessage}\n\nDetails: ${options.details}`
      : shortMessage
    super(message, 'cause' in options ? { cause: options.cause } : undefined)
    this.code = options.code
    this.shortMessage = shortMessage
    this.details = options.details
  }

  /** The plain form sent across boundaries (also used by `JSON.stringify`). */
  toJSON(): SerializedError {
    return { name: this.name, code: this.code, message: this.message }
  }

  /**
   * Serialise any thrown value. Foreign errors keep their name and message under the
   * code `UNKNOWN`, so nothing thrown is lost on the way.
   */
  static serialize(err: unknown): SerializedError {
    if (err instanceof TabswarmError) return err.toJSON()
    if (err instanceof Error) return { name: err.name, code: 'UNKNOWN', message: err.message }
    return { name: 'Error', code: 'UNKNOWN', message: String(err) }
  }
}
