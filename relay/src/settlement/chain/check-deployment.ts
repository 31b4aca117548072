import { getAddress, type PublicClient } from 'viem'
import {
  cumulativeMerkleDistributorAbi,
  cumulativeMerkleDistributorDeployedBytecode,
  cumulativeMerkleDistributorImmutableRanges,
} from '../contracts/CumulativeMerkleDistributor.artifact.ts'
import { SettlementError } from '../settlement-error.ts'
import { CHAIN_TIMEOUT_MS, withDeadline } from './deadline.ts'
import type { Address, Hex } from './settlement-chain.ts'

export interface ExpectedDistributor {
  /** The address the relay is configured to post roots to. */
  distributor: Address
  /** The token the relay is configured to pay in. */
  token: Address
  /** The address of the relay's poster key. */
  poster: Address
}

/**
 * Refuses a distributor the relay must not post to: the runtime code at `distributor` must
 * be this build's `CumulativeMerkleDistributor` byte for byte (immutables masked out, since
 * deployment fills them), it must pay the configured token, and its root poster must be the
 * relay's key. Run before the relay starts, so a typo'd address or a contract of another
 * version stops it at once instead of at the first epoch.
 */
export async function checkDistributor(
  publicClient: PublicClient,
  expected: ExpectedDistributor,
  signal: AbortSignal,
  timeoutMs = CHAIN_TIMEOUT_MS,
): Promise<void> {
  const at = `${expected.distributor} (chain ${publicClient.chain?.id ?? 'from the RPC URL'})`
  await withDeadline(`Checking the distributor at ${at}`, signal, timeoutMs, async () => {
    const code = await publicClient.getCode({ address: expected.distributor })
    if (code == null || code === '0x')
      throw new SettlementError(
        'WRONG_CONTRACT',
        `No contract at the configured distributor ${at}: the address is wrong, or it was deployed on another chain. Point the relay at the CumulativeMerkleDistributor deployed for it, or deploy one.`,
      )
    const difference = firstDifference(code, cumulativeMerkleDistributorDeployedBytecode)
    if (difference != null)
      throw new SettlementError(
        'WRONG_CONTRACT',
        `The contract at the configured distributor ${at} is not this relay's CumulativeMerkleDistributor: ${difference}. Point the relay at the right address, or deploy the distributor of this version (relay/contracts/CumulativeMerkleDistributor.sol).`,
      )
    const read = <F extends 'token' | 'rootPoster'>(functionName: F) =>
      publicClient.readContract({
        address: expected.distributor,
        abi: cumulativeMerkleDistributorAbi,
        functionName,
      })
    const [token, rootPoster] = await Promise.all([read('token'), read('rootPoster')])
    if (getAddress(token) !== getAddress(expected.token))
      throw new SettlementError(
        'WRONG_TOKEN',
        `The distributor ${at} pays token ${token}, but the relay is configured with token ${expected.token}. Configure the token the distributor pays, or deploy a distributor for this token.`,
      )
    if (getAddress(rootPoster) !== getAddress(expected.poster))
      throw new SettlementError(
        'WRONG_POSTER',
        `The distributor ${at} takes roots from ${rootPoster}, but the relay's poster key is ${expected.poster}. Configure the poster's key, or have the distributor's owner call setRootPoster(${expected.poster}).`,
      )
  })
}

/** Where runtime code differs from the artifact, outside the immutables; null when it does not. */
function firstDifference(code: Hex, artifact: Hex): string | null {
  const got = mask(code)
  const want = mask(artifact)
  if (got.length !== want.length)
    return `its runtime code is ${got.length / 2} bytes, this build's is ${want.length / 2}`
  for (let i = 0; i < got.length; i += 2)
    if (got.slice(i, i + 2) !== want.slice(i, i + 2))
      return `its runtime code differs from this build's at byte ${i / 2}`
  return null
}

/** The code's hex without `0x`, lowercased, with every immutable's bytes zeroed. */
function mask(code: Hex): string {
  let hex = code.slice(2).toLowerCase()
  for (const { start, length } of cumulativeMerkleDistributorImmutableRanges)
    if (start + length <= hex.length / 2)
      hex = hex.slice(0, start * 2) + '00'.repeat(length) + hex.slice((start + length) * 2)
  return hex
}
