import { TensorDtypeSchema } from '@tabswarm/protocol'
import { z } from 'zod'
import { checkId, jsonText } from './task-offer-input.ts'
import type { OfferReturn } from './task-offers.ts'

/**
 * How an `OfferReturn` is stored in `offer_returns` (migration 6) and read back: a result's
 * tensors' bytes concatenated into one `payload`, their shapes, dtypes and byte lengths in
 * `outputs` (JSONB), and split again on the way out, checked against those lengths.
 */

/** Bytes of result payload per `sendReturns` call (a `bytea` holds at most 1 GiB). */
export const MAX_RETURN_PAYLOAD_BYTES = 256 * 1024 * 1024
const MAX_OUTPUTS = 64
const MAX_RANK = 16
const MAX_MESSAGE_CHARS = 4_096

/** A stored return whose payload does not match its outputs: written by a bug, or by hand. */
export class CorruptOfferReturnError extends Error {
  readonly offerId: string
  constructor(offerId: string, message: string) {
    super(message)
    this.name = 'CorruptOfferReturnError'
    this.offerId = offerId
  }
}

const storedOutputsSchema = z
  .array(
    z.strictObject({
      shape: z.array(z.number().int().nonnegative()).max(MAX_RANK),
      dtype: TensorDtypeSchema,
      byteLength: z.number().int().nonnegative(),
    }),
  )
  .max(MAX_OUTPUTS)

/** An `offer_returns` row as `takeReturns` reads it. */
export interface OfferReturnRow {
  id: bigint
  offer_id: string
  relay_id: string
  peer_id: string
  kind: OfferReturn['kind']
  hello: unknown
  outputs: unknown
  payload: Buffer | null
  code: string | null
  message: string | null
}

/** `returns` as the columns of `sendReturns`' statement, every field checked. */
export function encodeOfferReturns(returns: readonly OfferReturn[]) {
  const columns = {
    owners: [] as string[],
    offers: [] as string[],
    relays: [] as string[],
    peers: [] as string[],
    kinds: [] as string[],
    hellos: [] as (string | null)[],
    outputs: [] as (string | null)[],
    offsets: [] as (number | null)[],
    lengths: [] as (number | null)[],
    codes: [] as (string | null)[],
    messages: [] as (string | null)[],
    payload: Buffer.alloc(0),
  }
  const chunks: Uint8Array[] = []
  let payloadBytes = 0
  returns.forEach((ret, i) => {
    const at = `returns[${i}]`
    columns.owners.push(checkId(`${at}.ownerId`, ret.ownerId))
    columns.offers.push(checkId(`${at}.offerId`, ret.offerId))
    columns.relays.push(checkId(`${at}.relayId`, ret.relayId))
    columns.peers.push(checkId(`${at}.peerId`, ret.peerId))
    columns.kinds.push(ret.kind)
    let hello: string | null = null
    let outputs: string | null = null
    let offset: number | null = null
    let length: number | null = null
    let code: string | null = null
    let message: string | null = null
    switch (ret.kind) {
      case 'result': {
        hello = jsonText(`${at}.hello`, ret.hello)
        if (!Array.isArray(ret.outputs) || ret.outputs.length > MAX_OUTPUTS)
          throw new RangeError(`${at}.outputs must be an array of at most ${MAX_OUTPUTS} tensors`)
        const stored = ret.outputs.map((tensor, t) => {
          const where = `${at}.outputs[${t}]`
          if (
            !Array.isArray(tensor.shape) ||
            tensor.shape.length > MAX_RANK ||
            !tensor.shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)
          )
            throw new RangeError(
              `${where}.shape must be at most ${MAX_RANK} whole, non-negative dimensions`,
            )
          if (!TensorDtypeSchema.safeParse(tensor.dtype).success)
            throw new RangeError(
              `${where}.dtype ${JSON.stringify(tensor.dtype)} is not one of ${TensorDtypeSchema.options.join(', ')}`,
            )
          if (!(tensor.bytes instanceof Uint8Array))
            throw new TypeError(`${where}.bytes must be a Uint8Array`)
          chunks.push(tensor.bytes)
          return { shape: tensor.shape, dtype: tensor.dtype, byteLength: tensor.bytes.byteLength }
        })
        length = stored.reduce((sum, tensor) => sum + tensor.byteLength, 0)
        offset = payloadBytes
        payloadBytes += length
        if (payloadBytes > MAX_RETURN_PAYLOAD_BYTES)
          throw new RangeError(
            `returns carry over ${MAX_RETURN_PAYLOAD_BYTES} bytes of results at ${at}: send them in several calls`,
          )
        outputs = JSON.stringify(stored)
        break
      }
      case 'error':
        hello = jsonText(`${at}.hello`, ret.hello)
        code = checkId(`${at}.code`, ret.code)
        if (
          typeof ret.message !== 'string' ||
          ret.message.length > MAX_MESSAGE_CHARS ||
          ret.message.includes('\0')
        )
          throw new RangeError(
            `${at}.message must be a string of at most ${MAX_MESSAGE_CHARS} characters without NUL: shorten the contributor's message first`,
          )
        message = ret.message
        break
      case 'release':
      case 'renew':
        break
      default:
        throw new RangeError(
          `${at}.kind must be 'result', 'error', 'release' or 'renew', got ${JSON.stringify((ret as { kind: unknown }).kind)}`,
        )
    }
    columns.hellos.push(hello)
    columns.outputs.push(outputs)
    columns.offsets.push(offset)
    columns.lengths.push(length)
    columns.codes.push(code)
    columns.messages.push(message)
  })
  columns.payload = Buffer.concat(chunks, payloadBytes)
  return columns
}

/** A taken row as an `OfferReturn`; a result's payload split back into its tensors. */
export function decodeOfferReturn(ownerId: string, row: OfferReturnRow): OfferReturn {
  const base = { ownerId, offerId: row.offer_id, relayId: row.relay_id, peerId: row.peer_id }
  switch (row.kind) {
    case 'result': {
      const parsed = storedOutputsSchema.safeParse(row.outputs)
      const corrupt = (why: string) =>
        new CorruptOfferReturnError(
          row.offer_id,
          `return ${row.id} of offer ${row.offer_id} (relay ${row.relay_id}) is corrupt: ${why}. It was taken and is dropped; the owner's lease on the task lapses and the task runs again`,
        )
      if (!parsed.success)
        throw corrupt(`its outputs are not tensor descriptions (${parsed.error.message})`)
      const payload = row.payload ?? Buffer.alloc(0)
      const expected = parsed.data.reduce((sum, tensor) => sum + tensor.byteLength, 0)
      if (expected !== payload.byteLength)
        throw corrupt(
          `its outputs add up to ${expected} bytes but its payload holds ${payload.byteLength}`,
        )
      let offset = 0
      const outputs = parsed.data.map((tensor) => {
        // A copy, on a buffer of its own: a typed array over `bytes.buffer` sees only it,
        // aligned, whatever pooled buffer the driver read it into.
        const bytes = Uint8Array.prototype.slice.call(payload, offset, offset + tensor.byteLength)
        offset += tensor.byteLength
        return { shape: tensor.shape, dtype: tensor.dtype, bytes }
      })
      return { ...base, kind: 'result', hello: row.hello, outputs }
    }
    case 'error':
      return {
        ...base,
        kind: 'error',
        hello: row.hello,
        code: row.code ?? '',
        message: row.message ?? '',
      }
    case 'release':
    case 'renew':
      return { ...base, kind: row.kind }
    default:
      throw new CorruptOfferReturnError(
        row.offer_id,
        `return ${row.id} of offer ${row.offer_id} has kind ${JSON.stringify(row.kind)}, which the table's CHECK forbids: the schema is not migration 6's`,
      )
  }
}
