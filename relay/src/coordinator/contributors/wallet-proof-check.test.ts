import { NO_SITE, walletProofTypedData } from '@tabswarm/protocol'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { verifyWalletProof } from './wallet-proof-check.ts'

const account = privateKeyToAccount(generatePrivateKey())
const other = privateKeyToAccount(generatePrivateKey())
const site = privateKeyToAccount(generatePrivateKey()).address
const now = 1_700_000_000_000
const nonce = `0x${'ab'.repeat(32)}` as const

async function proofFor(peerId: string, expiry = now / 1000 + 3600, boundSite = site) {
  const binding = { peerId, site: boundSite, nonce, expiry }
  const signature = await account.signTypedData(walletProofTypedData(binding))
  return { address: account.address, site: boundSite, nonce, expiry, signature }
}

describe('verifyWalletProof', () => {
  it('accepts a binding signed by the wallet over this peer id, site, nonce and expiry', async () => {
    expect(await verifyWalletProof('peer-a', await proofFor('peer-a'), now)).toBeUndefined()
    expect(
      await verifyWalletProof('peer-a', await proofFor('peer-a', now / 1000 + 60, NO_SITE), now),
    ).toBeUndefined()
  })

  it('refuses another peer, another wallet, another site or nonce, and a bad expiry', async () => {
    const proof = await proofFor('peer-a')
    expect(await verifyWalletProof('peer-b', proof, now)).toMatch(/not a signature by/)
    expect(await verifyWalletProof('peer-a', { ...proof, address: other.address }, now)).toMatch(
      /not a signature by/,
    )
    expect(await verifyWalletProof('peer-a', { ...proof, site: other.address }, now)).toMatch(
      /not a signature by/,
    )
    expect(
      await verifyWalletProof('peer-a', { ...proof, nonce: `0x${'cd'.repeat(32)}` }, now),
    ).toMatch(/not a signature by/)
    expect(await verifyWalletProof('peer-a', proof, now + 3_601_000)).toMatch(/expired/)
    const farOff = await proofFor('peer-a', now / 1000 + 8 * 86_400)
    expect(await verifyWalletProof('peer-a', farOff, now)).toMatch(/ahead of the relay's clock/)
  })
})
