import {
  type EpochState,
  EpochSummarySchema,
  type EpochSummary as EpochSummaryView,
  type EpochView as EpochViewJson,
  EpochViewSchema,
  SettlementInfoSchema,
  WalletCreditsSchema,
} from '@tabswarm/protocol'
import { z } from 'zod'
import { InvalidInputError, RelayResponseError } from '../client/client-errors.ts'
import type { Transport } from '../client/http-transport.ts'

/**
 * The relay's settlement API (`/v1/settlement…`) as typed calls: where credits settle, a
 * wallet's three figures, the epochs and their trees, closing an epoch and asking the relay
 * to submit claims. Every answer is checked against `@tabswarm/protocol`'s views and money
 * arrives as `bigint` token base units, never a float. Browser-safe.
 */

type Hex = `0x${string}`

/** Where credits settle (`GET /v1/settlement`), with `unitsPerCredit` as a bigint. */
export interface Settlement {
  chainId: number
  /** A JSON-RPC URL a browser or the CLI can use; null when the operator publishes none. */
  rpcUrl: string | null
  distributor: Hex
  token: { address: Hex; symbol: string; decimals: number }
  /** Token base units paid per ledger credit. */
  unitsPerCredit: bigint
  /** Share of a widget contributor's earnings paid to its site, in basis points. */
  siteShareBps: number
  /** How often epochs close on their own; null: only on demand. */
  epochIntervalMs: number | null
  /** Latest epoch whose root is on chain; 0 before the first. */
  latestEpoch: number
}

/** The arguments of `claim(account, cumulativeAmount, expectedRoot, proof)`. */
export interface WalletClaim {
  epoch: number
  root: Hex
  account: Hex
  cumulativeAmount: bigint
  proof: Hex[]
}

/**
 * A wallet's three figures in token base units: earned but in no posted root yet
 * (`pending`), in the latest root and not yet paid (`claimable`), paid on chain (`claimed`).
 */
export interface WalletCredits {
  address: Hex
  pending: bigint
  claimable: bigint
  claimed: bigint
  /** What to send to claim `claimable`; null while the wallet is in no posted root. */
  claim: WalletClaim | null
}

/** One closed epoch, its cumulative total as a bigint. */
export interface EpochSummary {
  epoch: number
  root: Hex
  /** What the epoch's root pays in all, every epoch before included. */
  cumulativeTotal: bigint
  leaves: number
  /** Where posting its root stands: built, sent, confirmed. */
  state: EpochState
  txHash: Hex | null
  /** When the tree was built, ms since the Unix epoch. */
  closedAt: number
}

/**
 * One epoch with its whole tree in OpenZeppelin's `StandardMerkleTree.dump()` format, left as
 * the relay published it (amounts as decimal strings) so `StandardMerkleTree.load(view.tree)`
 * can audit it as is.
 */
export interface EpochView extends EpochSummary {
  tree: EpochViewJson['tree']
}

/** What `POST /v1/settlement/claims` answers: the transaction the relay sent. */
export interface ClaimSubmission {
  txHash: Hex
  /** Anything else the relay says about it (accounts included, amounts), as sent. */
  [key: string]: unknown
}

export interface SettlementCallOptions {
  signal?: AbortSignal | undefined
  /** This request's timeout. @default the client's `requestTimeoutMs` (30 s) */
  timeoutMs?: number | undefined
}

export interface SettlementApi {
  /**
   * Where credits settle: the chain, the distributor, the token and its decimals.
   *
   * @example
   * const { token, distributor, rpcUrl } = await client.settlement()
   */
  settlement(options?: SettlementCallOptions): Promise<Settlement>
  /**
   * A wallet's pending, claimable and claimed amounts in token base units, and its claim.
   *
   * @example
   * const { pending, claimable, claimed } = await client.walletCredits('0x1234…')
   * formatUnits(claimable, token.decimals) // '12.5'
   */
  walletCredits(address: string, options?: SettlementCallOptions): Promise<WalletCredits>
  /** Closed epochs, newest first as the relay lists them. */
  epochs(options?: SettlementCallOptions): Promise<EpochSummary[]>
  /** One epoch with its published tree, for audits. */
  epoch(n: number, options?: SettlementCallOptions): Promise<EpochView>
  /**
   * Closes an epoch now (operators): takes the ledger's cumulative payouts, builds the tree,
   * posts the root. Idempotent on the relay's side.
   */
  closeEpoch(options?: SettlementCallOptions): Promise<EpochSummary>
  /**
   * Asks the relay to submit the claims of `accounts` on chain, paying the gas: for wallets
   * that hold no ETH (a tab's local key).
   *
   * @example
   * const { txHash } = await client.requestClaim([address])
   */
  requestClaim(accounts: string[], options?: SettlementCallOptions): Promise<ClaimSubmission>
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/

const ClaimSubmissionSchema = z.looseObject({
  txHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'expected a 0x-prefixed 32-byte hash'),
})

/** `value` checked against `schema`, or a `RelayResponseError` naming the call and the field. */
function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const checked = schema.safeParse(value)
  if (checked.success) return checked.data
  const issue = checked.error.issues[0]
  throw new RelayResponseError(
    `${what} answered a malformed view: ${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}; is the relay the same version as this SDK?`,
  )
}

function checkAddress(name: string, address: string): void {
  if (typeof address !== 'string' || !ADDRESS.test(address))
    throw new InvalidInputError(
      `${name} must be a 0x-prefixed 20-byte wallet address (0x + 40 hex digits), got "${String(address)}"`,
    )
}

/** A request's signal and timeout, leaving the client's timeout when none is given. */
const requestOf = ({ signal, timeoutMs }: SettlementCallOptions) => ({
  signal,
  ...(timeoutMs != null ? { timeoutMs } : {}),
})

const summaryOf = (view: EpochSummaryView): EpochSummary => ({
  epoch: view.epoch,
  root: view.root as Hex,
  cumulativeTotal: BigInt(view.cumulativeTotal),
  leaves: view.leaves,
  state: view.state,
  txHash: view.txHash as Hex | null,
  closedAt: view.closedAt,
})

/** The settlement calls over a client's transport; `createClient` mixes them in. */
export function settlementApi(transport: Transport): SettlementApi {
  const get = (path: string, options: SettlementCallOptions) =>
    transport.json<unknown>(path, requestOf(options))

  return {
    async settlement(options = {}) {
      const info = parse(SettlementInfoSchema, await get('/settlement', options), 'GET /settlement')
      return {
        chainId: info.chainId,
        rpcUrl: info.rpcUrl,
        distributor: info.distributor as Hex,
        token: {
          address: info.token.address as Hex,
          symbol: info.token.symbol,
          decimals: info.token.decimals,
        },
        unitsPerCredit: BigInt(info.unitsPerCredit),
        siteShareBps: info.siteShareBps,
        epochIntervalMs: info.epochIntervalMs,
        latestEpoch: info.latestEpoch,
      }
    },

    async walletCredits(address, options = {}) {
      checkAddress('address', address)
      const path = `/settlement/accounts/${address}`
      const view = parse(WalletCreditsSchema, await get(path, options), `GET ${path}`)
      return {
        address: view.address as Hex,
        pending: BigInt(view.pending),
        claimable: BigInt(view.claimable),
        claimed: BigInt(view.claimed),
        claim:
          view.claim == null
            ? null
            : {
                epoch: view.claim.epoch,
                root: view.claim.root as Hex,
                account: view.claim.account as Hex,
                cumulativeAmount: BigInt(view.claim.cumulativeAmount),
                proof: view.claim.proof as Hex[],
              },
      }
    },

    async epochs(options = {}) {
      // A bare list or `{ epochs }` (the shape of `GET /jobs`): either is the list.
      const answer = parse(
        z.union([
          z.array(EpochSummarySchema),
          z.object({ epochs: z.array(EpochSummarySchema) }).transform((a) => a.epochs),
        ]),
        await get('/settlement/epochs', options),
        'GET /settlement/epochs',
      )
      return answer.map(summaryOf)
    },

    async epoch(n, options = {}) {
      if (!Number.isSafeInteger(n) || n < 1)
        throw new InvalidInputError(`an epoch number is a positive integer, got ${n}`)
      const path = `/settlement/epochs/${n}`
      const view = parse(EpochViewSchema, await get(path, options), `GET ${path}`)
      return { ...summaryOf(view), tree: view.tree }
    },

    async closeEpoch(options = {}) {
      const answer = await transport.json<unknown>('/settlement/epochs', {
        method: 'POST',
        body: {},
        ...requestOf(options),
      })
      return summaryOf(parse(EpochSummarySchema, answer, 'POST /settlement/epochs'))
    },

    async requestClaim(accounts, options = {}) {
      if (!Array.isArray(accounts) || accounts.length === 0)
        throw new InvalidInputError('requestClaim needs at least one wallet address')
      for (const [i, account] of accounts.entries()) checkAddress(`accounts[${i}]`, account)
      const answer = await transport.json<unknown>('/settlement/claims', {
        method: 'POST',
        body: { accounts },
        ...requestOf(options),
      })
      return parse(ClaimSubmissionSchema, answer, 'POST /settlement/claims') as ClaimSubmission
    },
  }
}
