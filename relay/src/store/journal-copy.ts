/**
 * A deep copy of a journal entry's arguments or result, as `structuredClone` would make
 * it, for the values a `CoordinatorStore` call takes and returns: primitives (bigint
 * included), arrays, plain objects and typed arrays. It runs once per recorded call on the
 * coordinator's hot path, where `structuredClone` (a serialize and a deserialize through
 * the V8 value serializer) was the largest single cost of recording; a walk over the few
 * small objects of an entry is several times cheaper. Anything else (a Map, a Date, a
 * class instance) falls back to `structuredClone`, so the copy is never shallower than
 * before.
 */
export function copyJournalValue<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) {
    const copy = new Array(value.length)
    for (let i = 0; i < value.length; i++) copy[i] = copyJournalValue(value[i])
    return copy as T
  }
  if (ArrayBuffer.isView(value)) {
    // A view's own bytes only (its buffer may be a larger pool), as a fresh buffer.
    if (value instanceof DataView) return structuredClone(value)
    // A Buffer's own `slice` shares its memory; structuredClone makes it a Uint8Array.
    if (Buffer.isBuffer(value)) return new Uint8Array(value) as T
    return (value as unknown as Uint8Array).slice() as T
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) return structuredClone(value)
  const copy: Record<string, unknown> = {}
  for (const key of Object.keys(value))
    copy[key] = copyJournalValue((value as Record<string, unknown>)[key])
  return copy as T
}
