/**
 * The checks every value passed to the task-offer exchange (`task-offers.ts`) goes through
 * before it reaches the database: ids, batch sizes, durations and JSON. Each throws a
 * `TypeError` or `RangeError` naming the field and what it must be.
 */

/** Rows per call: one statement's arrays stay a few hundred kilobytes. */
export const MAX_OFFER_BATCH = 1_000
/** An offer's lease, and any grace or margin, is at most a day. */
const MAX_MS = 24 * 60 * 60 * 1_000
/** Encoded size of one grant or hello. */
const MAX_JSON_BYTES = 1024 * 1024
/** Ids as the rest of the cluster writes them: short printable ASCII without spaces. */
const ID = /^[\x21-\x7e]{1,200}$/

export function checkId(field: string, value: unknown): string {
  if (typeof value !== 'string')
    throw new TypeError(`${field} must be a string id, got ${typeof value}`)
  if (!ID.test(value))
    throw new RangeError(
      `${field} ${JSON.stringify(value.slice(0, 220))} must be 1 to 200 printable ASCII characters without spaces`,
    )
  return value
}

export function checkIds(field: string, values: readonly string[]): string[] {
  checkBatch(field, values)
  return values.map((value, i) => checkId(`${field}[${i}]`, value))
}

export function checkBatch(field: string, values: readonly unknown[]): void {
  if (!Array.isArray(values)) throw new TypeError(`${field} must be an array`)
  if (values.length > MAX_OFFER_BATCH)
    throw new RangeError(
      `${field} holds ${values.length} entries, over ${MAX_OFFER_BATCH} per call: split it into several calls`,
    )
}

export function checkMax(max: number): void {
  if (!Number.isInteger(max) || max < 1 || max > MAX_OFFER_BATCH)
    throw new RangeError(`max must be an integer from 1 to ${MAX_OFFER_BATCH}, got ${max}`)
}

export function checkMs(field: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min || value > MAX_MS)
    throw new RangeError(
      `${field} must be a whole number of milliseconds from ${min} to ${MAX_MS}, got ${value}`,
    )
  return value
}

/** `value` as JSON text for a JSONB column: it must be JSON-safe and at most 1 MiB. */
export function jsonText(field: string, value: unknown): string {
  let text: string | undefined
  try {
    text = JSON.stringify(value, (key, item: unknown) => {
      // JSONB refuses the NUL character, escaped or not.
      if (key.includes('\0') || (typeof item === 'string' && item.includes('\0')))
        throw new RangeError("it holds a NUL character, which PostgreSQL's JSONB cannot store")
      return item
    })
  } catch (err) {
    throw new TypeError(`${field} is not JSON-safe: ${(err as Error).message}`)
  }
  if (text === undefined)
    throw new TypeError(`${field} is not JSON-safe (${typeof value}): encode it as JSON first`)
  if (Buffer.byteLength(text) > MAX_JSON_BYTES)
    throw new RangeError(`${field} encodes to over ${MAX_JSON_BYTES} bytes of JSON`)
  return text
}
