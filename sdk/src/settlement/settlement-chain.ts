import { type Chain, defineChain } from 'viem'
import type { Settlement } from './settlement-api.ts'

/**
 * The settlement chain as viem describes one, from the relay's `GET /v1/settlement` (its id
 * and published RPC URL) or an RPC URL given instead: what a public client reads through,
 * and what a browser wallet is asked to add (`wallet_addEthereumChain`) when it lacks it.
 *
 * @example
 * const chain = settlementChain(await client.settlement())
 * const publicClient = createPublicClient({ chain, transport: http() })
 */
export function settlementChain(settlement: Settlement, rpcUrl = settlement.rpcUrl): Chain {
  if (rpcUrl == null)
    throw new TypeError(
      `the relay publishes no RPC URL for chain ${settlement.chainId}: pass one (tabswarm --rpc-url <url>)`,
    )
  return defineChain({
    id: settlement.chainId,
    name: settlement.chainId === 31337 ? 'Tabswarm local chain' : `Chain ${settlement.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  })
}
