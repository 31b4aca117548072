import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import {
  apiRequestTypedData,
  EMPTY_BODY_SHA256,
  WALLET_AUTH_HEADERS,
} from '../../protocol/api-auth.ts'
import { createWalletAuthenticator, type SignedRequest } from './wallet-auth.ts'

const wallet = privateKeyToAccount(generatePrivateKey())

async function request(
  now: number,
  nonce: string,
  overrides: Record<string, string> = {},
): Promise<SignedRequest> {
  const signature = await wallet.signTypedData(
    apiRequestTypedData({
      method: 'GET',
      path: '/v1/jobs',
      bodySha256: EMPTY_BODY_SHA256,
      timestamp: BigInt(now),
      nonce,
    }),
  )
  const headers: Record<string, string> = {
    [WALLET_AUTH_HEADERS.address]: wallet.address.toLowerCase(),
    [WALLET_AUTH_HEADERS.timestamp]: String(now),
    [WALLET_AUTH_HEADERS.nonce]: nonce,
    [WALLET_AUTH_HEADERS.signature]: signature,
    ...overrides,
  }
  return {
    method: 'GET',
    path: '/v1/jobs',
    body: new Uint8Array(0),
    header: (name) => headers[name],
  }
}

describe('wallet request signatures', () => {
  it('accepts a lower-case address and answers with the checksummed one', async () => {
    const auth = createWalletAuthenticator({ now: () => 1_000_000 })
    expect(await auth.verify(await request(1_000_000, 'nonce-0001'))).toEqual({
      ok: true,
      address: wallet.address,
    })
  })

  it('checks the freshness window both ways', async () => {
    const auth = createWalletAuthenticator({ now: () => 1_000_000, maxSkewMs: 1_000 })
    expect(await auth.verify(await request(998_999, 'nonce-0002'))).toMatchObject({
      ok: false,
      code: 'SIGNATURE_EXPIRED',
    })
    expect(await auth.verify(await request(1_001_001, 'nonce-0003'))).toMatchObject({
      ok: false,
      code: 'SIGNATURE_EXPIRED',
    })
    expect(await auth.verify(await request(1_001_000, 'nonce-0004'))).toMatchObject({ ok: true })
  })

  it('names malformed headers', async () => {
    const auth = createWalletAuthenticator({ now: () => 1_000_000 })
    const short = await request(1_000_000, 'nonce-0005', { [WALLET_AUTH_HEADERS.nonce]: 'abc' })
    expect(await auth.verify(short)).toMatchObject({
      code: 'INVALID_SIGNATURE',
      message: expect.stringContaining('x-tabswarm-nonce'),
    })
    const noAddress = await request(1_000_000, 'nonce-0006', {
      [WALLET_AUTH_HEADERS.address]: 'me',
    })
    expect(await auth.verify(noAddress)).toMatchObject({
      message: expect.stringContaining('x-tabswarm-address'),
    })
  })

  it('remembers nonces only within the window, and bounds how many', async () => {
    let now = 1_000_000
    const auth = createWalletAuthenticator({ now: () => now, maxSkewMs: 1_000, maxRemembered: 2 })
    expect(await auth.verify(await request(now, 'nonce-a-0001'))).toMatchObject({ ok: true })
    expect(await auth.verify(await request(now, 'nonce-b-0001'))).toMatchObject({ ok: true })
    expect(await auth.verify(await request(now, 'nonce-c-0001'))).toMatchObject({
      ok: false,
      code: 'AUTH_BUSY',
    })
    now += 2_001
    // The first two can no longer pass the freshness check, so they are forgotten to make room.
    expect(await auth.verify(await request(now, 'nonce-c-0001'))).toMatchObject({ ok: true })
  })
})
