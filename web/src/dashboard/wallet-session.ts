import type { apiRequestTypedData } from '@tabswarm/protocol'
import { walletAuth } from '@tabswarm/sdk'
import { connectInjectedWallet, WALLET_PROMPT_TIMEOUT_MS } from '../wallet/injected-wallet.ts'
import type { Credentials } from './credentials.ts'
import { REQUEST_TIMEOUT_MS } from './timeouts.ts'

/**
 * Signs in with the browser's wallet (EIP-1193, `window.ethereum`): the wallet signs one
 * request, `POST /v1/sessions` (EIP-712, naming this relay), and the relay answers a bearer
 * token that the following requests carry, so the wallet prompts once, not at every request.
 */
export async function openWalletSession(relay: string, signal?: AbortSignal): Promise<Credentials> {
  const prompt = AbortSignal.timeout(WALLET_PROMPT_TIMEOUT_MS)
  const wallet = await connectInjectedWallet(
    globalThis.ethereum,
    signal ? AbortSignal.any([signal, prompt]) : prompt,
  )
  const body = new TextEncoder().encode('{}')
  const path = '/v1/sessions'
  const headers = await walletAuth({
    address: wallet.address,
    signTypedData: (typed: ReturnType<typeof apiRequestTypedData>) =>
      wallet.walletClient.signTypedData({ account: wallet.address, ...typed }),
  })({
    method: 'POST',
    path,
    body,
    relayPeerId: () => relayPeerId(relay, signal),
    signal,
  })
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
  const response = await fetch(`${relay}${path}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body,
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  })
  const answer = (await response.json().catch(() => ({}))) as {
    token?: unknown
    expiresAt?: unknown
    error?: { code?: string; message?: string }
  }
  if (response.status === 404)
    throw new Error(
      'this relay does not open wallet sessions (no POST /v1/sessions): sign in with an API key',
    )
  if (!response.ok)
    throw new Error(
      `the relay refused the wallet sign-in: ${String(answer.error?.message ?? `HTTP ${response.status}`).slice(0, 300)}`,
    )
  if (typeof answer.token !== 'string' || answer.token.length === 0 || answer.token.length > 512)
    throw new Error('the relay opened no wallet session: its answer had no token')
  return {
    kind: 'wallet',
    token: answer.token,
    address: wallet.address,
    expiresAt: typeof answer.expiresAt === 'number' ? answer.expiresAt : undefined,
  }
}

/**
 * Ends a wallet session at the relay (`DELETE /v1/sessions/current`), so its token stops
 * working at once rather than when it expires. One already over is ended all the same.
 */
export async function closeWalletSession(relay: string, token: string): Promise<void> {
  const response = await fetch(`${relay}/v1/sessions/current`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  })
  if (!response.ok && response.status !== 401)
    throw new Error(`the relay did not end the wallet session (HTTP ${response.status})`)
}

/** The relay's libp2p peer id, which the signature names so it is valid at this relay only. */
async function relayPeerId(relay: string, signal: AbortSignal | undefined): Promise<string> {
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
  const response = await fetch(`${relay}/v1/swarm`, {
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  })
  const { peerId } = (await response.json()) as { peerId?: unknown }
  if (typeof peerId !== 'string')
    throw new Error(`GET /v1/swarm answered no peer id (HTTP ${response.status})`)
  return peerId
}
