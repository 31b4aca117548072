import { walletProofTypedData } from '@tabswarm/protocol'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { verifyWalletProof } from './wallet-proof-check.ts'

describe('wallet proof in hello', () => {
  const account = privateKeyToAccount(generatePrivateKey())
  const now = Date.parse('2030-01-01T00:00:00Z')
  const timestamp = now / 1000

  it('accepts a signature by the wallet over this peer id and a fresh timestamp', async () => {
    const signature = await account.signTypedData(walletProofTypedData('peer-a', timestamp))
    expect(
      await verifyWalletProof('peer-a', { address: account.address, timestamp, signature }, now),
    ).toBeUndefined()
  })

  it('refuses a proof replayed by another peer, a stale one, and a claimed address it is not from', async () => {
    const signature = await account.signTypedData(walletProofTypedData('peer-a', timestamp))
    const proof = { address: account.address, timestamp, signature }
    expect(await verifyWalletProof('peer-b', proof, now)).toMatch(/not a signature by/)
    expect(await verifyWalletProof('peer-a', proof, now + 301_000)).toMatch(/more than 300 s/)
    const other = privateKeyToAccount(generatePrivateKey())
    expect(await verifyWalletProof('peer-a', { ...proof, address: other.address }, now)).toMatch(
      /not a signature by/,
    )
  })
})
