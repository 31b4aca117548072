import {
  createTokenBucketLimiter,
  EpochViewSchema,
  SettlementInfoSchema,
  type TokenBucketOptions,
  WalletCreditsSchema,
} from '@tabswarm/protocol'
import type { Context, Hono } from 'hono'
import type { z } from 'zod'
import type { SettlementService } from '../settlement/settlement-service.ts'
import type { ApiEnv, Principal } from './api-env.ts'
import {
  ClaimsBodySchema,
  ClaimsResultSchema,
  CloseEpochResultSchema,
  EpochListQuerySchema,
  EpochListSchema,
  EpochParamsSchema,
  WalletParamsSchema,
} from './api-schemas.ts'
import { isLoopbackAddress } from './auth/authenticate.ts'
import { ApiError } from './error-response.ts'
import { rateLimit } from './rate-limit.ts'
import type { RegisterRoute, RouteHandler } from './route-docs.ts'
import { parseOrThrow, readJsonBody } from './validation.ts'

export interface SettlementApiOptions {
  service: SettlementService
  /**
   * API-key accounts allowed to close an epoch on demand (`TABSWARM_SETTLEMENT_OPERATORS`).
   * On an open loopback relay its local user may too.
   */
  operators: readonly string[]
  /**
   * `POST /v1/settlement/claims` per client address: each claim batch spends the poster's
   * gas. `false` turns it off. @default { ratePerSecond: 0.1, burst: 3 }
   */
  claimRateLimit?: TokenBucketOptions | false
}

/** Claim batches per client address: three at once, then one per ten seconds. */
const DEFAULT_CLAIM_RATE: TokenBucketOptions = { ratePerSecond: 0.1, burst: 3 }

/**
 * Who may close an epoch now: the open relay's local user, or an API key of an operator
 * account. Never a wallet signature: anyone can make a wallet, and a close costs gas.
 */
export function isSettlementOperator(principal: Principal, operators: readonly string[]): boolean {
  if (principal.via === 'local') return true
  return principal.via === 'api-key' && operators.includes(principal.account)
}

/**
 * `/v1/settlement/*`: where credits settle, a wallet's pending, claimable and claimed
 * amounts with its proof, the published epoch trees (public, so anyone can audit), closing
 * an epoch (operators) and claiming for wallets (anyone; the tokens go to the wallet). On a
 * relay without settlement every such path answers 404 `SETTLEMENT_DISABLED`.
 */
export function registerSettlementRoutes(options: {
  api: Hono<ApiEnv>
  route: RegisterRoute
  settlement?: SettlementApiOptions
  /** The relay serves its local user without credentials: its loopback callers are not limited. */
  openToLocal: boolean
  json: (
    description: string,
    schema: z.ZodType,
  ) => {
    description: string
    contentType: string
    schema: z.ZodType
  }
}): void {
  const { api, route, settlement, json } = options
  if (settlement == null) {
    const disabled = (): never => {
      throw new ApiError(
        'SETTLEMENT_DISABLED',
        'this relay does not settle credits on chain (TABSWARM_SETTLEMENT=off); credits stay in its ledger, see GET /v1/accounts/:address',
      )
    }
    api.all('/v1/settlement', disabled)
    api.all('/v1/settlement/*', disabled)
    return
  }
  const { service } = settlement
  const unavailable = { 503: { description: 'The chain did not answer (SETTLEMENT_UNAVAILABLE)' } }

  route(
    {
      method: 'get',
      path: '/v1/settlement',
      summary: 'Where credits settle: the chain, the distributor, the token and the latest epoch',
      auth: false,
      responses: { 200: json('Settlement', SettlementInfoSchema), ...unavailable },
    },
    async (c) => c.json(await service.info(c.req.raw.signal)),
  )

  route(
    {
      method: 'get',
      path: '/v1/settlement/accounts/:address',
      summary: 'A wallet’s pending, claimable and claimed amounts, and its claim proof',
      description:
        'pending: earned by verified work, not yet in a posted root; claimable: in the latest posted root, not yet claimed; ' +
        'claimed: paid on chain. claim holds the arguments of the distributor’s claim(account, cumulativeAmount, root, proof). ' +
        'Amounts are token base units as decimal strings.',
      auth: false,
      params: WalletParamsSchema,
      responses: { 200: json('The wallet’s figures', WalletCreditsSchema), ...unavailable },
    },
    async (c) => {
      const { address } = parseOrThrow(WalletParamsSchema, c.req.param(), 'path', 'INVALID_ID')
      return c.json(await service.account(address, c.req.raw.signal))
    },
  )

  route(
    {
      method: 'get',
      path: '/v1/settlement/epochs',
      summary: 'Closed epochs, newest first, paged',
      auth: false,
      query: EpochListQuerySchema,
      responses: { 200: json('A page of epochs', EpochListSchema) },
    },
    (c) => {
      const query = parseOrThrow(EpochListQuerySchema, c.req.query(), 'query', 'INVALID_QUERY')
      return c.json(
        service.epochs({
          limit: query.limit,
          ...(query.before !== undefined ? { before: query.before } : {}),
        }),
      )
    },
  )

  route(
    {
      method: 'get',
      path: '/v1/settlement/epochs/:n',
      summary: 'One epoch with its whole published tree, to audit',
      description:
        'tree is OpenZeppelin’s StandardMerkleTree.dump() (leaves [address, uint256]): StandardMerkleTree.load(tree) ' +
        'gives the root to compare with the distributor’s, and every leaf.',
      auth: false,
      params: EpochParamsSchema,
      responses: {
        200: json('The epoch and its tree', EpochViewSchema),
        404: { description: 'No such epoch (EPOCH_NOT_FOUND)' },
      },
    },
    (c) => {
      const { n } = parseOrThrow(EpochParamsSchema, c.req.param(), 'path', 'INVALID_ID')
      return c.json(service.epoch(n))
    },
  )

  route(
    {
      method: 'post',
      path: '/v1/settlement/epochs',
      summary: 'Close an epoch now: build the tree of cumulative earnings and post its root',
      description:
        'For the operator: the open loopback relay’s local user, or an API key of an account in TABSWARM_SETTLEMENT_OPERATORS ' +
        '(default operator). Idempotent: with nothing new since the latest epoch it closes none and answers that one with ' +
        'closed: false and a message. ' +
        'An epoch left unfinished by a crash is finished first.',
      auth: true,
      responses: {
        200: json('The epoch closed or, with nothing new, the latest one', CloseEpochResultSchema),
        403: { description: 'Not an operator' },
        409: {
          description:
            'No wallet has earned anything yet (NOTHING_TO_SETTLE), or the previous root post is not mined yet (EPOCH_PENDING)',
        },
        502: { description: 'The chain reverted the root post (POST_REVERTED)' },
        ...unavailable,
      },
    },
    async (c) => {
      const principal = c.get('principal')
      if (!isSettlementOperator(principal, settlement.operators))
        throw new ApiError(
          'FORBIDDEN',
          `closing an epoch is for the relay’s operator; ${principal.account} is not one: use an API key of an account in TABSWARM_SETTLEMENT_OPERATORS (${settlement.operators.join(', ') || 'none'})`,
        )
      // Not the request's signal: a client that leaves must not cut a close between steps
      // (it would resume, but later); each chain call has its own timeout.
      return c.json(await service.closeEpoch())
    },
  )

  const claimLimit: RouteHandler[] =
    settlement.claimRateLimit === false
      ? []
      : [
          rateLimit({
            limiter: createTokenBucketLimiter(settlement.claimRateLimit ?? DEFAULT_CLAIM_RATE),
            scope: 'ip',
            key: (c: Context<ApiEnv>) =>
              options.openToLocal && isLoopbackAddress(c.get('clientIp'))
                ? undefined
                : c.get('clientIp'),
          }),
        ]
  route(
    {
      method: 'post',
      path: '/v1/settlement/claims',
      summary: 'Claim for wallets: the relay sends one claimMany, paying the gas',
      description:
        'Anyone may ask for any wallet; the tokens always go to the wallet, so a contributor with a fresh key and no ETH can ' +
        'claim. Accounts with nothing claimable are skipped (listed in skipped); when none is left the answer is 409 ' +
        'NOTHING_TO_CLAIM. Rate limited per client address.',
      auth: false,
      body: { contentType: 'application/json', schema: ClaimsBodySchema, maxBytes: 8 * 1024 },
      responses: {
        200: json('The claim transaction', ClaimsResultSchema),
        409: { description: 'Nothing to claim for these accounts (NOTHING_TO_CLAIM)' },
        429: { description: 'Too many claim requests from this address' },
        ...unavailable,
      },
    },
    ...claimLimit,
    async (c) => {
      const { accounts } = parseOrThrow(
        ClaimsBodySchema,
        await readJsonBody(c.req),
        'body',
        'INVALID_BODY',
      )
      return c.json(await service.submitClaims(accounts))
    },
  )
}
