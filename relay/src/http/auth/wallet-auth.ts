import {
  apiRequestTypedData,
  WALLET_AUTH_HEADERS,
  WALLET_AUTH_MAX_SKEW_MS,
} from '@tabswarm/protocol'
import { getAddress, isAddress, verifyTypedData } from 'viem'
import { createMemoryUsedNonces, type NonceRegistry } from '../../store/used-nonces.ts'

export interface WalletAuthOptions {
  /**
   * This relay's libp2p peer id: a signature names the relay it is for, so one captured on
   * its way to another relay is refused here. The peer id, not the origin: it is the same
   * behind any reverse proxy, TLS terminator or host name, needs no configuration, and
   * stays the same across restarts (the key lives in the data directory).
   */
  relayPeerId: string
  /**
   * The peer ids of the other relays of this relay's cluster (one operator, one shared
   * database and nonce registry): a request signed for any of them is accepted here too,
   * so a client may send it to whichever relay answers. @default none
   */
  clusterPeerIds?: () => Promise<ReadonlySet<string>>
  /**
   * Where used nonces are kept. The relay passes its store, so a request used once is
   * refused after a restart too; the relays of a cluster pass the registry they share in
   * PostgreSQL, whose claim is durable, and seen by every relay, before the request has any
   * effect. @default in memory (tests)
   */
  nonces?: NonceRegistry
  /** @default Date.now */
  now?: () => number
  /** How far a request's timestamp may be from `now`, either way. @default 5 minutes */
  maxSkewMs?: number
  /** Nonces remembered at once for replay protection; past this, signed requests wait. @default 100_000 */
  maxRemembered?: number
  /** How often expired nonces are deleted. @default 60 s */
  pruneEveryMs?: number
}

/** What the verifier needs of a request: its line and its headers, never its body. */
export interface SignedRequest {
  method: string
  /** Path and query as the client sent them. */
  path: string
  header(name: string): string | undefined
}

export type WalletAuthResult =
  | {
      ok: true
      address: `0x${string}`
      /** The signed sha-256 of the body (64 hex, no `0x`): the body must match it as it streams in. */
      bodySha256: string
    }
  | { ok: false; code: WalletAuthErrorCode; message: string }

export type WalletAuthErrorCode =
  | 'INVALID_SIGNATURE'
  | 'SIGNATURE_OUTDATED'
  | 'WRONG_RELAY'
  | 'SIGNATURE_EXPIRED'
  | 'SIGNATURE_REPLAYED'
  | 'AUTH_BUSY'

export interface WalletAuthenticator {
  /** True when the request carries wallet headers at all. */
  present(request: SignedRequest): boolean
  /** Checks everything the headers carry, the signature included; reads no body. */
  verify(request: SignedRequest): Promise<WalletAuthResult>
}

const NONCE = /^[A-Za-z0-9_-]{8,64}$/
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/
const SHA256 = /^0x[0-9a-f]{64}$/

/**
 * Checks EIP-712 request signatures (see `protocol/api-auth.ts`) from the headers alone:
 * the signer must be the claimed address, the relay named this one, the timestamp within
 * the freshness window, and the (address, nonce) pair never used before (durably, when
 * `nonces` is the store). The body is checked afterwards, against the signed sha-256, as
 * it streams in (`authenticate.ts`), so a forged request costs no body read.
 */
export function createWalletAuthenticator(options: WalletAuthOptions): WalletAuthenticator {
  const { relayPeerId } = options
  const inCluster = async (relay: string) => {
    if (options.clusterPeerIds == null) return false
    try {
      return (await options.clusterPeerIds()).has(relay)
    } catch {
      // The cluster's list unreadable (the database away): only this relay's own id holds.
      return false
    }
  }
  const now = options.now ?? Date.now
  const maxSkewMs = options.maxSkewMs ?? WALLET_AUTH_MAX_SKEW_MS
  const maxRemembered = options.maxRemembered ?? 100_000
  const pruneEveryMs = options.pruneEveryMs ?? 60_000
  const nonces = options.nonces ?? createMemoryUsedNonces()
  /** Counted on the first request: the registry may answer only asynchronously. */
  let remembered: number | undefined
  let prunedAt = Number.NEGATIVE_INFINITY

  async function prune(at: number): Promise<number> {
    prunedAt = at
    await nonces.pruneNonces(at)
    remembered = await nonces.countNonces()
    return remembered
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
      const relay = request.header(WALLET_AUTH_HEADERS.relay)
      const contentSha256 = request.header(WALLET_AUTH_HEADERS.contentSha256)?.toLowerCase()
      const signature = request.header(WALLET_AUTH_HEADERS.signature)
      if (relay === undefined || contentSha256 === undefined)
        return fail(
          'SIGNATURE_OUTDATED',
          `wallet signatures now name the relay and the body's sha-256 (${WALLET_AUTH_HEADERS.relay}, ` +
            `${WALLET_AUTH_HEADERS.contentSha256}; EIP-712 domain "Tabswarm API" version 2): this request was ` +
            'signed in the old format, which could be replayed to any relay. Update @tabswarm/sdk, or sign ' +
            "apiRequestTypedData with relay = GET /v1/swarm's peerId",
        )
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
      if (!SHA256.test(contentSha256))
        return fail(
          'INVALID_SIGNATURE',
          `${WALLET_AUTH_HEADERS.contentSha256} must be 0x and the 64 hex digits of the body's sha-256`,
        )
      if (signature === undefined || !SIGNATURE.test(signature))
        return fail(
          'INVALID_SIGNATURE',
          `${WALLET_AUTH_HEADERS.signature} must be a 65-byte 0x-prefixed hex signature`,
        )
      if (relay !== relayPeerId && !(await inCluster(relay)))
        return fail(
          'WRONG_RELAY',
          `signed for relay ${relay.slice(0, 80)}, but this relay is ${relayPeerId}: sign again with ` +
            "relay = GET /v1/swarm's peerId of the relay you send it to",
        )

      const timestamp = Number(timestampText)
      const at = now()
      if (Math.abs(at - timestamp) > maxSkewMs) {
        return fail(
          'SIGNATURE_EXPIRED',
          `signed at ${new Date(timestamp).toISOString()}, more than ${maxSkewMs / 1000} s from the relay's clock (${new Date(at).toISOString()}); sign again with the current time`,
        )
      }
      const checksummed = getAddress(address)
      const key = `${checksummed}/${nonce}`
      const replayed = () =>
        fail(
          'SIGNATURE_REPLAYED',
          `nonce ${nonce} was already used by ${checksummed}; sign every request with a fresh nonce`,
        )
      if (at - prunedAt >= pruneEveryMs) await prune(at)
      if (await nonces.nonceUsed(key)) return replayed()

      let valid = false
      try {
        valid = await verifyTypedData({
          address: checksummed,
          signature: signature as `0x${string}`,
          ...apiRequestTypedData({
            method: request.method,
            path: request.path,
            bodySha256: contentSha256 as `0x${string}`,
            timestamp: BigInt(timestamp),
            nonce,
            relay,
          }),
        })
      } catch {
        valid = false
      }
      if (!valid) {
        return fail(
          'INVALID_SIGNATURE',
          `the signature is not ${checksummed}'s over ${request.method.toUpperCase()} ${request.path} with this body hash, timestamp, nonce and relay`,
        )
      }
      remembered ??= await nonces.countNonces()
      if (remembered >= maxRemembered && (await prune(at)) >= maxRemembered)
        return fail('AUTH_BUSY', 'too many signed requests in flight; retry shortly')
      // The claim is the check: a concurrent copy of this request (on this relay or, with a
      // shared registry, on another) may have passed the peek above.
      if (!(await nonces.claimNonce(key, timestamp + maxSkewMs + 1))) return replayed()
      remembered++
      return { ok: true, address: checksummed, bodySha256: contentSha256.slice(2) }
    },
  }
}
