/**
 * What the relay's settlement API answers: the chain and contracts credits settle on, a
 * wallet's three figures (pending, claimable, claimed) with its Merkle proof, and each
 * epoch's published tree. Money is integer base units of the token, as decimal strings (JSON
 * has no bigint); the SDK turns them into `bigint`. Browser-safe.
 */
import { z } from 'zod'

/** A non-negative integer amount of token base units, as a decimal string. */
export const BaseUnitsSchema = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,77})$/, 'expected a non-negative integer as a decimal string')
  .meta({ description: 'Token base units, a non-negative integer as a decimal string' })

export const AddressSchema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, 'expected a 0x-prefixed 20-byte address')
export const Bytes32Schema = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, 'expected a 0x-prefixed 32-byte hex value')

/** `GET /v1/settlement`: where credits settle. */
export const SettlementInfoSchema = z.looseObject({
  chainId: z.number().int(),
  rpcUrl: z.string().nullable().meta({
    description: 'A JSON-RPC URL browsers can use; null when the operator publishes none',
  }),
  distributor: AddressSchema,
  token: z.object({
    address: AddressSchema,
    symbol: z.string(),
    decimals: z.number().int().min(0).max(36),
  }),
  unitsPerCredit: BaseUnitsSchema.meta({ description: 'Token base units paid per ledger credit' }),
  siteShareBps: z.number().int().min(0).max(10_000).meta({
    description: "Share of a widget contributor's earnings paid to the site, in basis points",
  }),
  epochIntervalMs: z
    .number()
    .int()
    .nullable()
    .meta({ description: 'How often epochs close on their own; null: only on demand' }),
  latestEpoch: z
    .number()
    .int()
    .meta({ description: 'Latest epoch whose root is on chain (0: none yet)' }),
})
export type SettlementInfo = z.infer<typeof SettlementInfoSchema>

/** What a wallet needs to claim: its leaf in the latest posted root and the proof. */
export const ClaimProofSchema = z.object({
  epoch: z.number().int().min(1),
  root: Bytes32Schema,
  account: AddressSchema,
  cumulativeAmount: BaseUnitsSchema,
  proof: z.array(Bytes32Schema).max(64),
})
export type ClaimProof = z.infer<typeof ClaimProofSchema>

/** `GET /v1/settlement/accounts/:address`: a wallet's three figures, and its claim. */
export const WalletCreditsSchema = z.looseObject({
  address: AddressSchema,
  pending: BaseUnitsSchema.meta({
    description: 'Earned by verified work, not yet in a posted root',
  }),
  claimable: BaseUnitsSchema.meta({ description: 'In the latest posted root, not yet claimed' }),
  claimed: BaseUnitsSchema.meta({ description: 'Paid to the wallet on chain' }),
  claim: ClaimProofSchema.nullable().meta({
    description:
      'Arguments for claim(account, cumulativeAmount, root, proof); null when not in a root',
  }),
})
export type WalletCredits = z.infer<typeof WalletCreditsSchema>

/** Where posting an epoch's root stands. */
export const EpochStateSchema = z.enum(['built', 'sent', 'confirmed'])
export type EpochState = z.infer<typeof EpochStateSchema>

/** One epoch without its tree (`GET /v1/settlement/epochs`, and `POST` to close one). */
export const EpochSummarySchema = z.looseObject({
  epoch: z.number().int().min(1),
  root: Bytes32Schema,
  cumulativeTotal: BaseUnitsSchema,
  leaves: z.number().int(),
  state: EpochStateSchema,
  txHash: Bytes32Schema.nullable(),
  closedAt: z.number().meta({ description: 'ms since the epoch when the tree was built' }),
})
export type EpochSummary = z.infer<typeof EpochSummarySchema>

/**
 * `GET /v1/settlement/epochs/:n`: the summary and the whole tree in OpenZeppelin's
 * `StandardMerkleTree.dump()` format (leaf encoding `['address', 'uint256']`), so anyone can
 * load it with `StandardMerkleTree.load`, check the root and every leaf.
 */
export const EpochViewSchema = EpochSummarySchema.extend({
  tree: z.looseObject({
    format: z.literal('standard-v1'),
    leafEncoding: z.tuple([z.literal('address'), z.literal('uint256')]),
    tree: z.array(Bytes32Schema),
    values: z.array(
      z.object({ value: z.tuple([AddressSchema, BaseUnitsSchema]), treeIndex: z.number().int() }),
    ),
  }),
})
export type EpochView = z.infer<typeof EpochViewSchema>
