import type { Logger } from '../../log.ts'
import type { SettlementConfig } from '../settlement-config.ts'
import { SettlementError } from '../settlement-error.ts'
import type { SettlementChain } from './settlement-chain.ts'

/** Settlement that is on: an embedded chain or an external one. */
export type ActiveSettlementConfig = Exclude<SettlementConfig, { mode: 'off' }>

/** A chain the relay settles on, ready to use, and how to let it go. */
export interface ChainConnection {
  chain: SettlementChain
  /** A JSON-RPC URL browsers can use (the embedded chain's own server), or null. */
  publicRpcUrl: string | null
  /**
   * The chain holds none of the roots this relay posted before (the embedded chain starts
   * empty each time): the closer posts every stored root again, in order.
   */
  fresh: boolean
  /** Stops the embedded chain; nothing for an external one. */
  close(): Promise<void>
}

export type ConnectChain = (
  config: ActiveSettlementConfig,
  options: { log: Logger; signal: AbortSignal },
) => Promise<ChainConnection>

/**
 * Connects the relay to the chain its config names. The one place that builds chains, so the
 * rest of settlement sees only the `SettlementChain` interface:
 *
 * - `embedded`: `startLocalChain({ port: config.chainPort, signal })` (Hardhat EDR in process,
 *   JSON-RPC on 127.0.0.1), then `deploySettlement(...)` with a Hardhat dev account as owner
 *   and poster (a fresh chain and the same key give the same addresses each start), then
 *   `createViemSettlementChain({ rpcUrl, posterKey, distributor, token })`;
 *   `publicRpcUrl` is `config.publicRpcUrl ?? localChain.url`; `fresh: true`; `close` stops
 *   the local chain.
 * - `chain`: `createViemSettlementChain({ rpcUrl, posterKey, distributor, token })`, then
 *   `checkDistributor(...)` (refuses a distributor that is not the expected contract, or
 *   whose token or poster differ from the config); `publicRpcUrl` is
 *   `config.publicRpcUrl ?? null`; `fresh: false`.
 *
 * Not connected yet in this build: the viem chain client (`createViemSettlementChain`,
 * `startLocalChain`, `deploySettlement`, `checkDistributor`) is another change.
 */
export const connectSettlementChain: ConnectChain = async (config) => {
  throw new SettlementError(
    'SETTLEMENT_UNAVAILABLE',
    `this build cannot reach a chain yet (settlement mode "${config.mode}"): its chain client is not connected; ` +
      'set TABSWARM_SETTLEMENT=off to run the relay without settlement',
  )
}
