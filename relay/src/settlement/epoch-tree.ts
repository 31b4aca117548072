import { StandardMerkleTree } from '@openzeppelin/merkle-tree'
import { getAddress, isAddress } from 'viem'
import type { Address, Hex } from './chain/settlement-chain.ts'

/** A leaf as the distributor hashes it: `(account, cumulativeAmount)`, the amount as decimal text. */
export type EpochLeaf = [account: Address, cumulativeAmount: string]

/** The leaf encoding of every epoch tree, as `CumulativeMerkleDistributor._claim` hashes it. */
export const LEAF_ENCODING = ['address', 'uint256'] as const

/**
 * One epoch's Merkle tree with an index by account, so a wallet's proof is one map lookup
 * rather than a scan of the leaves.
 */
export interface EpochTree {
  readonly tree: StandardMerkleTree<EpochLeaf>
  readonly root: Hex
  /** Sum of every leaf: what the distributor must be able to pay once this root is posted. */
  readonly cumulativeTotal: bigint
  readonly leaves: number
  /** The account's cumulative amount in this tree, 0 when it has no leaf. */
  amountOf(account: string): bigint
  /** The account's leaf and proof, or undefined when it has no leaf. */
  proofOf(account: string): { cumulativeAmount: bigint; proof: Hex[] } | undefined
  /** `StandardMerkleTree.dump()` as JSON: what is stored and published. */
  dump(): string
}

function indexTree(tree: StandardMerkleTree<EpochLeaf>): EpochTree {
  const byAccount = new Map<string, { index: number; amount: bigint }>()
  let total = 0n
  for (const [index, [account, amount]] of tree.entries()) {
    const value = BigInt(amount)
    byAccount.set(account.toLowerCase(), { index, amount: value })
    total += value
  }
  return {
    tree,
    root: tree.root as Hex,
    cumulativeTotal: total,
    leaves: byAccount.size,
    amountOf: (account) => byAccount.get(account.toLowerCase())?.amount ?? 0n,
    proofOf(account) {
      const leaf = byAccount.get(account.toLowerCase())
      if (leaf == null) return undefined
      return { cumulativeAmount: leaf.amount, proof: tree.getProof(leaf.index) as Hex[] }
    },
    dump: () => JSON.stringify(tree.dump()),
  }
}

/**
 * Builds the next epoch's tree from cumulative earnings in ledger credits: one leaf per wallet
 * with a positive amount, `credits × unitsPerCredit` base units, in address order (so the
 * same ledger always gives the same tree and root). Payees that are not wallet addresses
 * (`peer:<id>`, contributors that bound no wallet) have nothing to claim with and are left out.
 *
 * A leaf never goes below the account's amount in `previous`: the contract pays the
 * difference from what was claimed, and refuses a root whose total shrinks, so an amount that
 * fell (a changed `unitsPerCredit`) would strand the epoch. Returns undefined when no wallet
 * has earned anything.
 */
export function buildEpochTree(
  earned: Iterable<{ account: string; total: bigint }>,
  unitsPerCredit: bigint,
  previous?: EpochTree,
): EpochTree | undefined {
  const amounts = new Map<Address, bigint>()
  for (const { account, total } of earned) {
    if (!isAddress(account, { strict: false }) || total <= 0n) continue
    const address = getAddress(account)
    amounts.set(address, (amounts.get(address) ?? 0n) + total * unitsPerCredit)
  }
  if (previous != null) {
    for (const [, [account, amount]] of previous.tree.entries()) {
      const address = getAddress(account)
      const now = amounts.get(address) ?? 0n
      if (BigInt(amount) > now) amounts.set(address, BigInt(amount))
    }
  }
  if (amounts.size === 0) return undefined
  const values: EpochLeaf[] = [...amounts]
    .sort(([a], [b]) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1))
    .map(([account, amount]) => [account, amount.toString()])
  return indexTree(StandardMerkleTree.of(values, [...LEAF_ENCODING]))
}

/** Loads a stored tree (`EpochTree.dump()`), checking it is an epoch tree. */
export function loadEpochTree(json: string): EpochTree {
  const data = JSON.parse(json)
  if (
    data?.format !== 'standard-v1' ||
    JSON.stringify(data.leafEncoding) !== JSON.stringify(LEAF_ENCODING)
  )
    throw new Error(
      `a stored epoch tree is not a standard-v1 tree of ${LEAF_ENCODING.join(', ')} leaves`,
    )
  return indexTree(StandardMerkleTree.load<EpochLeaf>(data))
}
