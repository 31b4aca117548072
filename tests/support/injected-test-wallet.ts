import type { BrowserContext } from 'playwright'
import {
  createWalletClient,
  defineChain,
  type Hex,
  http,
  type LocalAccount,
  type TypedDataDefinition,
} from 'viem'

export interface InjectedTestWalletOptions {
  /** The visitor's account: the wallet's only one, it signs bindings and transactions. */
  account: LocalAccount
  /**
   * A chain the wallet can be asked to add and switch to, then send transactions on; reads it
   * does not answer itself go to its RPC. It starts on chain 1 and answers 4902 to a switch
   * before the chain is added, as real wallets do. Without one it says it is on chain 31337
   * and answers 4200 to anything it does not know.
   */
  chain?: { id: number; rpcUrl: string }
  /** Asked at each switch of chain: true, and the visitor declines it (4001). */
  declineSwitch?: () => boolean
  /** Every request the page made, by method, as it is made. */
  onRequest?: (method: string) => void
}

/**
 * `window.ethereum` in every page of `context`: an EIP-1193 provider whose account is a viem
 * account in this process. It signs typed data as `eth_signTypedData_v4` gets it (the JSON
 * of params[1]; viem derives `EIP712Domain` itself), so a page can bind it in its hello.
 */
export async function exposeInjectedTestWallet(
  context: BrowserContext,
  options: InjectedTestWalletOptions,
): Promise<void> {
  const { account, chain } = options
  let chainId = chain == null ? 31_337 : 1
  let added = false
  const wallet =
    chain &&
    createWalletClient({
      account,
      chain: defineChain({
        id: chain.id,
        name: `chain ${chain.id}`,
        nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
        rpcUrls: { default: { http: [chain.rpcUrl] } },
      }),
      transport: http(chain.rpcUrl),
    })
  await context.exposeFunction(
    '__testWalletRequest',
    async (method: string, params: unknown[] | undefined) => {
      options.onRequest?.(method)
      const fail = (code: number, message: string) => ({ rpcError: { code, message } })
      switch (method) {
        case 'eth_requestAccounts':
        case 'eth_accounts':
          return [account.address]
        case 'eth_chainId':
          return `0x${chainId.toString(16)}`
        case 'eth_signTypedData_v4': {
          const typed = JSON.parse(String(params?.[1])) as TypedDataDefinition & {
            types: Record<string, unknown>
          }
          const { EIP712Domain: _, ...types } = typed.types
          return account.signTypedData({ ...typed, types } as TypedDataDefinition)
        }
      }
      if (chain == null || wallet == null)
        return fail(4200, `test wallet: ${method} is not supported`)
      switch (method) {
        case 'wallet_switchEthereumChain': {
          const id = Number((params?.[0] as { chainId?: string } | undefined)?.chainId)
          if (options.declineSwitch?.()) return fail(4001, 'User rejected the request.')
          if (id !== 1 && !(id === chain.id && added)) return fail(4902, `unrecognized chain ${id}`)
          chainId = id
          return null
        }
        case 'wallet_addEthereumChain':
          added = true
          return null
        case 'eth_sendTransaction': {
          if (chainId !== chain.id) return fail(4901, `the wallet is on chain ${chainId}`)
          const tx = params?.[0] as { to: Hex; data: Hex }
          return wallet.sendTransaction({ to: tx.to, data: tx.data })
        }
        default: {
          const response = await fetch(chain.rpcUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: params ?? [] }),
            signal: AbortSignal.timeout(30_000),
          })
          const answer = (await response.json()) as {
            result?: unknown
            error?: { code: number; message: string }
          }
          if (answer.error) return fail(answer.error.code, answer.error.message)
          return answer.result
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
      // Playwright passes a thrown error's message only: EIP-1193 errors travel as values.
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
}
