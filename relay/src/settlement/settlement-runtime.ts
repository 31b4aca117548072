import type { Logger } from '../log.ts'
import {
  type ActiveSettlementConfig,
  type ConnectChain,
  connectSettlementChain,
} from './chain/connect-chain.ts'
import { createEpochCloser, type EpochCloser } from './epoch-closer.ts'
import type { EpochStore } from './epoch-store.ts'
import { createEpochTimer } from './epoch-timer.ts'
import { SettlementError, type SettlementErrorCode } from './settlement-error.ts'
import { createSettlementService, type SettlementService } from './settlement-service.ts'

/**
 * How long a start waits for the root post a crash left pending before it serves anyway:
 * about a block on most chains, so a post already on its way is confirmed at once.
 */
export const START_RECEIPT_TIMEOUT_MS = 10_000

/**
 * Why an unfinished epoch may not land while the relay starts, none of them a reason not to
 * start: the epoch stays stored, and the next close (timer or operator) posts it. Anything
 * else (the chain not answering, a distributor whose roots disagree with the store) still
 * stops the start.
 */
const LEFT_TO_THE_NEXT_CLOSE: ReadonlySet<SettlementErrorCode> = new Set([
  // The distributor is short: the operator funds it.
  'UNDERFUNDED',
  // The post is on its way, not mined yet: the next close waits for it again.
  'EPOCH_PENDING',
  // The post reverted (e.g. underfunded, paused), or would: the next close signs it again.
  'POST_REVERTED',
  'TRANSACTION_FAILED',
])

export interface SettlementRuntimeOptions {
  config: ActiveSettlementConfig
  store: EpochStore & { flush(): void }
  /** Cumulative verified earnings per payee, in ledger credits (the ledger's `earnedTotals`). */
  earnedTotals: () => Iterable<{ account: string; total: bigint }>
  /** Share of a widget contributor's earnings paid to its site, in basis points. @default 0 */
  siteShareBps?: number
  log: Logger
  /** Bounds the start: connecting, deploying and re-posting. @default AbortSignal.timeout(120_000) */
  signal?: AbortSignal
  /** Builds the chain; tests pass one over a fake. @default connectSettlementChain */
  connect?: ConnectChain
  /** See {@link START_RECEIPT_TIMEOUT_MS}. */
  startReceiptTimeoutMs?: number
}

/** Settlement while the relay runs: the chain, the closer, the service the API serves, the timer. */
export interface SettlementRuntime {
  service: SettlementService
  closer: EpochCloser
  /** Where credits settle, for the start-up line. */
  chain: { chainId: number; distributor: string; token: string; rpcUrl: string | null }
  /** Stops the timer, waits for a close in progress, lets the chain go. */
  stop(): Promise<void>
}

/**
 * Starts settlement: connects to the chain (embedded: starts and deploys it), finishes what
 * a previous run left (an unfinished epoch; on a fresh embedded chain every stored root,
 * posted again in order), then closes epochs every `epochMinutes`.
 *
 * An unfinished epoch that cannot land now (the distributor is short, its post is still
 * pending after {@link START_RECEIPT_TIMEOUT_MS}) does not keep the relay down: it is logged
 * and left to the next close, which resumes it before closing anything new.
 */
export async function startSettlementRuntime(
  options: SettlementRuntimeOptions,
): Promise<SettlementRuntime> {
  const { config, store, log } = options
  const signal = options.signal ?? AbortSignal.timeout(120_000)
  const connection = await (options.connect ?? connectSettlementChain)(config, { log, signal })
  const { chain } = connection
  try {
    const closer = createEpochCloser({
      store,
      chain,
      earnedTotals: options.earnedTotals,
      unitsPerCredit: config.unitsPerCredit,
      log: log.child('epochs'),
      repostMissing: connection.fresh,
    })
    try {
      await closer.resume(signal, {
        receiptTimeoutMs: options.startReceiptTimeoutMs ?? START_RECEIPT_TIMEOUT_MS,
      })
    } catch (err) {
      if (!(err instanceof SettlementError && LEFT_TO_THE_NEXT_CLOSE.has(err.code))) throw err
      log.warn('an unfinished epoch is not on chain yet; the next close posts it', {
        code: err.code,
        error: err.message,
      })
    }
    const intervalMs = config.epochMinutes > 0 ? config.epochMinutes * 60_000 : null
    const service = createSettlementService({
      chain,
      closer,
      store,
      earnedTotals: options.earnedTotals,
      unitsPerCredit: config.unitsPerCredit,
      publicRpcUrl: connection.publicRpcUrl,
      epochIntervalMs: intervalMs,
      log,
      ...(options.siteShareBps !== undefined ? { siteShareBps: options.siteShareBps } : {}),
    })
    const timer =
      intervalMs == null
        ? undefined
        : createEpochTimer({ intervalMs, close: (s) => service.closeEpoch(s), log })
    log.info('settlement on', {
      mode: config.mode,
      chainId: chain.chainId,
      distributor: chain.distributor,
      tokenAddress: chain.token,
      rpcUrl: connection.publicRpcUrl,
      latestEpoch: store.latestConfirmedEpoch()?.epoch ?? 0,
      epochMinutes: config.epochMinutes,
    })
    return {
      service,
      closer,
      chain: {
        chainId: chain.chainId,
        distributor: chain.distributor,
        token: chain.token,
        rpcUrl: connection.publicRpcUrl,
      },
      async stop() {
        await timer?.stop()
        // A close in progress finishes its current step's store write; its epoch is resumed
        // on the next start whatever step it reached.
        await closer.exclusive(async () => undefined)
        await connection.close()
      },
    }
  } catch (err) {
    await connection.close()
    throw err
  }
}
