import { createServer } from 'node:net'
import { createPublicClient, http } from 'viem'
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { SettlementError } from '../settlement-error.ts'
import { DEV_ACCOUNT_COUNT, DEV_MNEMONIC, LOCAL_CHAIN_ID, startLocalChain } from './local-chain.ts'

describe('startLocalChain', () => {
  it('serves JSON-RPC with funded dev accounts, automines, and frees its port on close', async () => {
    const chain = await startLocalChain()
    const client = createPublicClient({ transport: http(chain.rpcUrl) })
    expect(await client.getChainId()).toBe(LOCAL_CHAIN_ID)
    expect(chain.devAccounts).toHaveLength(DEV_ACCOUNT_COUNT)
    // Hardhat's well-known first and last default accounts.
    expect(chain.devAccounts[0]!.address).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266')
    expect(chain.devAccounts[19]!.address).toBe('0x8626f6940E2eb28930eFb4CeF49B2d1F2C9C1199')
    // The same keys as viem's own derivation from the mnemonic.
    expect(chain.devAccounts[7]!.address).toBe(
      mnemonicToAccount(DEV_MNEMONIC, { addressIndex: 7 }).address,
    )
    expect(privateKeyToAccount(chain.devPrivateKeys[7]!).address).toBe(
      chain.devAccounts[7]!.address,
    )
    expect(await client.getBalance({ address: chain.devAccounts[5]!.address })).toBe(
      10_000n * 10n ** 18n,
    )
    const port = Number(new URL(chain.rpcUrl).port)
    await chain.close()
    await chain.close() // idempotent
    // The port is free again: something else can bind it.
    await new Promise<void>((resolve, reject) => {
      const probe = createServer().once('error', reject)
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()))
    })
  }, 30_000)

  it('refuses a port in use with an error that names it, instead of crashing', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const started = startLocalChain({ port })
      await expect(started).rejects.toThrow(SettlementError)
      await expect(started).rejects.toThrow(`127.0.0.1:${port}: EADDRINUSE`)
    } finally {
      blocker.close()
    }
  })

  it('gives up when the caller aborts', async () => {
    await expect(startLocalChain({ signal: AbortSignal.abort() })).rejects.toThrow(
      'the caller aborted',
    )
  })
})
