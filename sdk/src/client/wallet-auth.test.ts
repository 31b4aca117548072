import { apiRequestTypedData, EMPTY_BODY_SHA256, sha256Hex } from '@tabswarm/relay/protocol'
import { verifyTypedData } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { walletAuth } from './wallet-auth.ts'

describe('walletAuth', () => {
  const account = privateKeyToAccount(generatePrivateKey())
  const authenticate = walletAuth(account)

  async function verify(
    headers: Record<string, string>,
    method: string,
    path: string,
    bodySha256: `0x${string}`,
  ) {
    return verifyTypedData({
      address: headers['x-tabswarm-address'] as `0x${string}`,
      ...apiRequestTypedData({
        method,
        path,
        bodySha256,
        timestamp: BigInt(headers['x-tabswarm-timestamp']!),
        nonce: headers['x-tabswarm-nonce']!,
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
  })

  it('uses the empty-body hash without a body, and a fresh nonce every time', async () => {
    const first = await authenticate({ method: 'GET', path: '/v1/jobs', body: undefined })
    const second = await authenticate({ method: 'GET', path: '/v1/jobs', body: undefined })
    expect(await verify(first, 'GET', '/v1/jobs', EMPTY_BODY_SHA256)).toBe(true)
    expect(first['x-tabswarm-nonce']).not.toBe(second['x-tabswarm-nonce'])
  })
})
