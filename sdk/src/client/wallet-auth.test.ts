import { apiRequestTypedData, EMPTY_BODY_SHA256, sha256Hex } from '@tabswarm/protocol'
import { verifyTypedData } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { walletAuth } from './wallet-auth.ts'

describe('walletAuth', () => {
  const account = privateKeyToAccount(generatePrivateKey())
  const RELAY = '12D3KooWRelayA'
  let asked = 0
  const relayPeerId = async () => {
    asked++
    return RELAY
  }
  const sign = walletAuth(account)
  const authenticate = (request: { method: string; path: string; body: Uint8Array | undefined }) =>
    sign({ ...request, relayPeerId })

  async function verify(
    headers: Record<string, string>,
    method: string,
    path: string,
    bodySha256: `0x${string}`,
    relay = RELAY,
  ) {
    return verifyTypedData({
      address: headers['x-tabswarm-address'] as `0x${string}`,
      ...apiRequestTypedData({
        method,
        path,
        bodySha256,
        timestamp: BigInt(headers['x-tabswarm-timestamp']!),
        nonce: headers['x-tabswarm-nonce']!,
        relay,
      }),
      signature: headers['x-tabswarm-signature'] as `0x${string}`,
    })
  }

  it('signs method, path and body hash so the relay can recover the wallet', async () => {
    const body = new TextEncoder().encode('{"kernel":"matmul"}')
    const headers = await authenticate({ method: 'POST', path: '/v1/jobs', body })
    expect(headers['x-tabswarm-address']).toBe(account.address)
    const bodySha256 = `0x${await sha256Hex(body)}` as const
    expect(await verify(headers, 'POST', '/v1/jobs', bodySha256)).toBe(true)
    // The same signature does not cover another path or another body.
    expect(await verify(headers, 'POST', '/v1/jobs/x/cancel', bodySha256)).toBe(false)
    expect(await verify(headers, 'POST', '/v1/jobs', EMPTY_BODY_SHA256)).toBe(false)
    // Nor another relay; and the headers say which relay and which body hash were signed.
    expect(await verify(headers, 'POST', '/v1/jobs', bodySha256, '12D3KooWRelayB')).toBe(false)
    expect(headers['x-tabswarm-relay']).toBe(RELAY)
    expect(headers['x-tabswarm-content-sha256']).toBe(bodySha256)
  })

  it('signs for a pinned relay without asking the relay who it is', async () => {
    const before = asked
    const pinned = walletAuth(account, { relayPeerId: '12D3KooWPinned' })
    const headers = await pinned({ method: 'GET', path: '/v1/jobs', body: undefined, relayPeerId })
    expect(asked).toBe(before)
    expect(await verify(headers, 'GET', '/v1/jobs', EMPTY_BODY_SHA256, '12D3KooWPinned')).toBe(true)
  })

  it('uses the empty-body hash without a body, and a fresh nonce every time', async () => {
    const first = await authenticate({ method: 'GET', path: '/v1/jobs', body: undefined })
    const second = await authenticate({ method: 'GET', path: '/v1/jobs', body: undefined })
    expect(await verify(first, 'GET', '/v1/jobs', EMPTY_BODY_SHA256)).toBe(true)
    expect(first['x-tabswarm-nonce']).not.toBe(second['x-tabswarm-nonce'])
  })

  it('signs the hash given for a body streamed from a file, which it never holds', async () => {
    const bytes = new TextEncoder().encode('weights')
    const bodySha256 = await sha256Hex(bytes)
    const headers = await sign({
      method: 'PUT',
      path: '/v1/blobs',
      body: undefined,
      bodySha256,
      relayPeerId,
    })
    expect(headers['x-tabswarm-content-sha256']).toBe(`0x${bodySha256}`)
    expect(await verify(headers, 'PUT', '/v1/blobs', `0x${bodySha256}`)).toBe(true)
  })
})
