/**
 * The parts of `CumulativeMerkleDistributor`'s ABI that clients use: claiming (one account or
 * a batch), reading what an account has claimed and the current root, the `Claimed` event,
 * and the errors a claim can revert with, so viem decodes a revert into its name. Browser-safe
 * copy of the entries in the relay's compiled artifact (the page and the SDK may not import
 * the relay); a relay test checks every entry here equals the artifact's, so they cannot drift.
 */
export const distributorAbi = [
  {
    inputs: [
      { internalType: 'address', name: 'account', type: 'address' },
      { internalType: 'uint256', name: 'cumulativeAmount', type: 'uint256' },
      { internalType: 'bytes32', name: 'expectedRoot', type: 'bytes32' },
      { internalType: 'bytes32[]', name: 'proof', type: 'bytes32[]' },
    ],
    name: 'claim',
    outputs: [{ internalType: 'uint256', name: 'amount', type: 'uint256' }],
    stateMutability: 'nonpayable',
    type: 'function',
  },
  {
    inputs: [
      {
        components: [
          { internalType: 'address', name: 'account', type: 'address' },
          { internalType: 'uint256', name: 'cumulativeAmount', type: 'uint256' },
          { internalType: 'bytes32[]', name: 'proof', type: 'bytes32[]' },
        ],
        internalType: 'struct CumulativeMerkleDistributor.Claim[]',
        name: 'claims',
        type: 'tuple[]',
      },
      { internalType: 'bytes32', name: 'expectedRoot', type: 'bytes32' },
    ],
    name: 'claimMany',
    outputs: [{ internalType: 'uint256', name: 'total', type: 'uint256' }],
    stateMutability: 'nonpayable',
    type: 'function',
  },
  {
    inputs: [{ internalType: 'address', name: 'account', type: 'address' }],
    name: 'claimed',
    outputs: [{ internalType: 'uint256', name: '', type: 'uint256' }],
    stateMutability: 'view',
    type: 'function',
  },
  {
    inputs: [],
    name: 'merkleRoot',
    outputs: [{ internalType: 'bytes32', name: '', type: 'bytes32' }],
    stateMutability: 'view',
    type: 'function',
  },
  {
    anonymous: false,
    inputs: [
      { indexed: true, internalType: 'address', name: 'account', type: 'address' },
      { indexed: false, internalType: 'uint256', name: 'amount', type: 'uint256' },
      { indexed: false, internalType: 'uint256', name: 'cumulativeAmount', type: 'uint256' },
    ],
    name: 'Claimed',
    type: 'event',
  },
  { inputs: [], name: 'EnforcedPause', type: 'error' },
  {
    inputs: [
      { internalType: 'address', name: 'account', type: 'address' },
      { internalType: 'uint256', name: 'cumulativeAmount', type: 'uint256' },
    ],
    name: 'InvalidProof',
    type: 'error',
  },
  {
    inputs: [{ internalType: 'address', name: 'token', type: 'address' }],
    name: 'SafeERC20FailedOperation',
    type: 'error',
  },
  {
    inputs: [
      { internalType: 'bytes32', name: 'current', type: 'bytes32' },
      { internalType: 'bytes32', name: 'expected', type: 'bytes32' },
    ],
    name: 'StaleRoot',
    type: 'error',
  },
] as const
