import {
  apiRequestTypedData,
  EMPTY_BODY_SHA256,
  sha256Hex,
  WALLET_AUTH_HEADERS,
} from '@tabswarm/relay/protocol'
import type { Authenticate } from './http-transport.ts'

/**
 * Anything that signs EIP-712 typed data for an address: a viem `Account`
 * (`privateKeyToAccount`, a JSON-RPC account through a wallet client), or your own.
 */
export interface WalletSigner {
  address: `0x${string}`
  signTypedData(typedData: ReturnType<typeof apiRequestTypedData>): Promise<`0x${string}`>
}

/**
 * Credentials from a wallet instead of an API key: every request is signed (method, path,
 * body hash, time, a fresh nonce) so it cannot be replayed or altered.
 *
 * @example
 * import { privateKeyToAccount } from 'viem/accounts'
 * const client = createClient({ relay, authenticate: walletAuth(privateKeyToAccount(key)) })
 */
export function walletAuth(wallet: WalletSigner): Authenticate {
  return async ({ method, path, body }) => {
    const timestamp = Date.now()
    const nonce = crypto.randomUUID()
    const bodySha256 =
      body && body.byteLength > 0 ? (`0x${await sha256Hex(body)}` as const) : EMPTY_BODY_SHA256
    const signature = await wallet.signTypedData(
      apiRequestTypedData({ method, path, bodySha256, timestamp: BigInt(timestamp), nonce }),
    )
    return {
      [WALLET_AUTH_HEADERS.address]: wallet.address,
      [WALLET_AUTH_HEADERS.timestamp]: String(timestamp),
      [WALLET_AUTH_HEADERS.nonce]: nonce,
      [WALLET_AUTH_HEADERS.signature]: signature,
    }
  }
}
