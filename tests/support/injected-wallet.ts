import type { BrowserContext } from 'playwright'
import {
  createWalletClient,
  defineChain,
  type Hex,
  http,
  type LocalAccount,
  type TypedDataDefinition,
} from 'viem'

/**
 * Gives every page of `context` a `window.ethereum` (EIP-1193) backed by a viem account in
 * this process, already on the chain at `rpcUrl`: it answers accounts and chain id, signs
 * typed data (the page's wallet binding) and sends transactions with the account, and
 * forwards every other call to the chain. `calls` records the methods the page used.
 * Playwright passes only an error's message across, so EIP-1193 errors travel as values.
 */
export async function exposeInjectedWallet(
  context: BrowserContext,
  options: { account: LocalAccount; rpcUrl: string; chainId: number },
): Promise<{ calls: string[] }> {
  const { account, rpcUrl, chainId } = options
  const calls: string[] = []
  const chain = defineChain({
    id: chainId,
    name: 'tabswarm test chain',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  })
  const wallet = createWalletClient({ account, chain, transport: http(rpcUrl) })
  const fail = (code: number, message: string) => ({ rpcError: { code, message } })
  await context.exposeFunction(
    '__testWalletRequest',
    async (method: string, params: unknown[] | undefined) => {
      calls.push(method)
      switch (method) {
        case 'eth_requestAccounts':
        case 'eth_accounts':
          return [account.address]
        case 'eth_chainId':
          return `0x${chainId.toString(16)}`
        case 'wallet_switchEthereumChain':
        case 'wallet_addEthereumChain':
          return null
        case 'eth_signTypedData_v4': {
          const typed = JSON.parse(String(params?.[1])) as TypedDataDefinition & {
            types: Record<string, unknown>
          }
          const { EIP712Domain: _domain, ...types } = typed.types
          return account.signTypedData!({ ...typed, types } as TypedDataDefinition)
        }
        case 'eth_sendTransaction': {
          const tx = params?.[0] as { to: Hex; data: Hex; gas?: Hex }
          return wallet.sendTransaction({ to: tx.to, data: tx.data })
        }
        default: {
          const response = await fetch(rpcUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: params ?? [] }),
            signal: AbortSignal.timeout(30_000),
          })
          const answer = (await response.json()) as {
            result?: unknown
            error?: { code: number; message: string }
          }
          return answer.error ? fail(answer.error.code, answer.error.message) : answer.result
        }
      }
    },
  )
  await context.addInitScript(() => {
    const call = (
      globalThis as unknown as {
        __testWalletRequest: (method: string, params: unknown) => Promise<unknown>
      }
    ).__testWalletRequest
    ;(globalThis as { ethereum?: unknown }).ethereum = {
      request: async ({ method, params }: { method: string; params?: unknown }) => {
        const answer = (await call(method, params)) as {
          rpcError?: { code: number; message: string }
        }
        if (answer?.rpcError)
          throw Object.assign(new Error(answer.rpcError.message), answer.rpcError)
        return answer
      },
      on() {},
      removeListener() {},
    }
  })
  return { calls }
}
