import { createHash } from 'node:crypto'
import { getAddress, isAddress, verifyTypedData } from 'viem'
import {
  apiRequestTypedData,
  WALLET_AUTH_HEADERS,
  WALLET_AUTH_MAX_SKEW_MS,
} from '../../protocol/api-auth.ts'

export interface WalletAuthOptions {
  /** @default Date.now */
  now?: () => number
  /** How far a request's timestamp may be from `now`, either way. @default 5 minutes */
  maxSkewMs?: number
  /** Nonces remembered at once for replay protection; past this, signed requests wait. @default 100_000 */
  maxRemembered?: number
}

export interface SignedRequest {
  method: string
  /** Path and query as the client sent them. */
  path: string
  body: Uint8Array
  header(name: string): string | undefined
}

export type WalletAuthResult =
  | { ok: true; address: `0x${string}` }
  | { ok: false; code: WalletAuthErrorCode; message: string }

export type WalletAuthErrorCode =
  | 'INVALID_SIGNATURE'
  | 'SIGNATURE_EXPIRED'
  | 'SIGNATURE_REPLAYED'
  | 'AUTH_BUSY'

export interface WalletAuthenticator {
  /** True when the request carries wallet headers at all. */
  present(request: SignedRequest): boolean
  verify(request: SignedRequest): Promise<WalletAuthResult>
}

const NONCE = /^[A-Za-z0-9_-]{8,64}$/
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/

/**
 * Checks EIP-712 request signatures (see `protocol/api-auth.ts`): the signer must be the
 * claimed address, the timestamp within the freshness window, and the (address, nonce) pair
 * unseen within that window, so a captured request cannot be sent again.
 */
export function createWalletAuthenticator(options: WalletAuthOptions = {}): WalletAuthenticator {
  const now = options.now ?? Date.now
  const maxSkewMs = options.maxSkewMs ?? WALLET_AUTH_MAX_SKEW_MS
  const maxRemembered = options.maxRemembered ?? 100_000
  /** `address/nonce` -> when it may be forgotten (its timestamp can no longer pass). */
  const seen = new Map<string, number>()

  function forgetExpired(at: number): void {
    for (const [key, until] of seen) if (until <= at) seen.delete(key)
  }

  const fail = (code: WalletAuthErrorCode, message: string): WalletAuthResult => ({
    ok: false,
    code,
    message,
  })

  return {
    present: (request) => request.header(WALLET_AUTH_HEADERS.signature) !== undefined,

    async verify(request) {
      const address = request.header(WALLET_AUTH_HEADERS.address)
      const timestampText = request.header(WALLET_AUTH_HEADERS.timestamp)
      const nonce = request.header(WALLET_AUTH_HEADERS.nonce)
      const signature = request.header(WALLET_AUTH_HEADERS.signature)
      if (address === undefined || !isAddress(address, { strict: false }))
        return fail(
          'INVALID_SIGNATURE',
          `${WALLET_AUTH_HEADERS.address} must be a 0x-prefixed 20-byte address`,
        )
      if (timestampText === undefined || !/^\d{1,16}$/.test(timestampText))
        return fail(
          'INVALID_SIGNATURE',
          `${WALLET_AUTH_HEADERS.timestamp} must be milliseconds since the epoch`,
        )
      if (nonce === undefined || !NONCE.test(nonce))
        return fail(
          'INVALID_SIGNATURE',
          `${WALLET_AUTH_HEADERS.nonce} must be 8-64 characters of [A-Za-z0-9_-]`,
        )
      if (signature === undefined || !SIGNATURE.test(signature))
        return fail(
          'INVALID_SIGNATURE',
          `${WALLET_AUTH_HEADERS.signature} must be a 65-byte 0x-prefixed hex signature`,
        )

      const timestamp = Number(timestampText)
      const at = now()
      if (Math.abs(at - timestamp) > maxSkewMs) {
        return fail(
          'SIGNATURE_EXPIRED',
          `signed at ${new Date(timestamp).toISOString()}, more than ${maxSkewMs / 1000} s from the relay's clock (${new Date(at).toISOString()})`,
        )
      }
      const checksummed = getAddress(address)
      const key = `${checksummed}/${nonce}`
      if (seen.has(key))
        return fail('SIGNATURE_REPLAYED', `nonce ${nonce} was already used by ${checksummed}`)

      const bodySha256 = `0x${createHash('sha256').update(request.body).digest('hex')}` as const
      let valid = false
      try {
        valid = await verifyTypedData({
          address: checksummed,
          signature: signature as `0x${string}`,
          ...apiRequestTypedData({
            method: request.method,
            path: request.path,
            bodySha256,
            timestamp: BigInt(timestamp),
            nonce,
          }),
        })
      } catch {
        valid = false
      }
      if (!valid) {
        return fail(
          'INVALID_SIGNATURE',
          `the signature is not ${checksummed}'s over ${request.method.toUpperCase()} ${request.path} with this body, timestamp and nonce`,
        )
      }
      // Checked again: a concurrent copy of this request may have passed while we verified.
      if (seen.has(key))
        return fail('SIGNATURE_REPLAYED', `nonce ${nonce} was already used by ${checksummed}`)
      if (seen.size >= maxRemembered) forgetExpired(at)
      if (seen.size >= maxRemembered)
        return fail('AUTH_BUSY', 'too many signed requests in flight; retry shortly')
      seen.set(key, timestamp + maxSkewMs + 1)
      return { ok: true, address: checksummed }
    },
  }
}
