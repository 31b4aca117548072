import {
  apiRequestTypedData,
  EMPTY_BODY_SHA256,
  sha256Hex,
  walletRequestHeaders,
} from '@tabswarm/protocol'
import type { Authenticate } from './http-transport.ts'

/**
 * Anything that signs EIP-712 typed data for an address: a viem `Account`
 * (`privateKeyToAccount`, a JSON-RPC account through a wallet client), or your own.
 */
export interface WalletSigner {
  address: `0x${string}`
  signTypedData(typedData: ReturnType<typeof apiRequestTypedData>): Promise<`0x${string}`>
}

export interface WalletAuthOptions {
  /**
   * The peer id of the relay to sign for. Pin it when you know it: a signature then never
   * names another relay, even if the URL you were given leads elsewhere.
   * @default the peer id the relay answers in `GET /v1/swarm`, asked once
   */
  relayPeerId?: string | undefined
}

/**
 * Credentials from a wallet instead of an API key: every request is signed (method, path,
 * body hash, time, a fresh nonce, and the relay's peer id) so it cannot be altered, nor
 * replayed to this relay or another one.
 *
 * @example
 * import { privateKeyToAccount } from 'viem/accounts'
 * const client = createClient({ relay, authenticate: walletAuth(privateKeyToAccount(key)) })
 */
export function walletAuth(wallet: WalletSigner, options: WalletAuthOptions = {}): Authenticate {
  return async ({ method, path, body, bodySha256: streamed, relayPeerId }) => {
    const relay = options.relayPeerId ?? (await relayPeerId())
    const bodySha256 =
      streamed != null
        ? (`0x${streamed}` as const)
        : body && body.byteLength > 0
          ? (`0x${await sha256Hex(body)}` as const)
          : EMPTY_BODY_SHA256
    const typed = apiRequestTypedData({
      method,
      path,
      bodySha256,
      timestamp: BigInt(Date.now()),
      nonce: crypto.randomUUID(),
      relay,
    })
    return walletRequestHeaders(wallet.address, typed.message, await wallet.signTypedData(typed))
  }
}
