import { privateKeyToAccount } from 'viem/accounts'
import type { Logger } from '../../log.ts'
import type { SettlementConfig } from '../settlement-config.ts'
import { checkDistributor } from './check-deployment.ts'
import { deploySettlement } from './deploy-settlement.ts'
import { startLocalChain } from './local-chain.ts'
import { rpcClients } from './rpc-clients.ts'
import type { SettlementChain } from './settlement-chain.ts'
import { createViemSettlementChain } from './viem-settlement-chain.ts'

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
 * Connects the relay to the chain its config names; the one place that builds chains, so
 * the rest of settlement sees only the `SettlementChain` interface.
 *
 * Embedded: an EDR chain in this process, the token and distributor deployed by the first
 * dev account (owner and root poster). A fresh chain and the same key give the same
 * addresses at every start; the chain keeps no state, so the closer posts the stored roots
 * again (`fresh`). External: the configured contracts, checked before anything is posted.
 */
export const connectSettlementChain: ConnectChain = async (config, { log, signal }) => {
  if (config.mode === 'embedded') {
    const local = await startLocalChain({ port: config.chainPort, signal })
    try {
      const posterKey = local.devPrivateKeys[0]
      const deployer = local.devAccounts[0]
      if (posterKey == null || deployer == null)
        throw new Error('the local chain has no dev account')
      const { token, distributor } = await deploySettlement({
        rpcUrl: local.rpcUrl,
        deployer,
        signal,
      })
      const chain = await createViemSettlementChain({
        rpcUrl: local.rpcUrl,
        posterKey,
        distributor,
        token,
        devMint: true,
        chainId: local.chainId,
        signal,
      })
      log.info('embedded chain started, contracts deployed', {
        rpcUrl: local.rpcUrl,
        distributor,
        tokenAddress: token,
      })
      return {
        chain,
        publicRpcUrl: config.publicRpcUrl ?? local.rpcUrl,
        fresh: true,
        close: () => local.close(),
      }
    } catch (err) {
      await local.close()
      throw err
    }
  }
  const chain = await createViemSettlementChain({
    rpcUrl: config.rpcUrl,
    posterKey: config.posterKey,
    distributor: config.distributor,
    token: config.token,
    devMint: false,
    signal,
  })
  const { publicClient } = rpcClients(config.rpcUrl, signal, privateKeyToAccount(config.posterKey))
  await checkDistributor(
    publicClient,
    { distributor: config.distributor, token: config.token, poster: chain.poster },
    signal,
  )
  return {
    chain,
    publicRpcUrl: config.publicRpcUrl ?? null,
    fresh: false,
    close: async () => {},
  }
}
