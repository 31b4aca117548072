import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '@tabswarm/sdk/cli'
import { toHex } from 'viem'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  type DistributorChain,
  devAccount,
  startDistributorChain,
} from '../support/distributor-chain.ts'
import {
  type SettlementApiStandIn,
  startSettlementApiStandIn,
} from '../support/settlement-api-stand-in.ts'

/**
 * `tabswarm credits`, `claim` and `epoch` against a real distributor on an EDR chain, behind
 * a stand-in of the relay's settlement API: the figures printed exactly with the token's
 * decimals, claims paid by the relay or by a wallet key, receipts waited for.
 */

const alice = devAccount(1)
const bob = devAccount(2)
/** Holds ETH and no leaf: pays the gas of bob's claim with --wallet-key-file. */
const payer = devAccount(3)
const keyOf = (account: typeof alice) => toHex(account.getHdKey().privateKey!)
const TSC = 10n ** 18n

let chain: DistributorChain
let relay: SettlementApiStandIn

async function run(argv: string[]) {
  let stdout = ''
  let stderr = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk)
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk)
    return true
  })
  const code = await main(argv).finally(() => vi.restoreAllMocks())
  return { code, stdout, stderr }
}

beforeAll(async () => {
  chain = await startDistributorChain()
  relay = await startSettlementApiStandIn(chain)
}, 60_000)
afterAll(async () => {
  await relay?.close()
  await chain?.close()
})
afterEach(() => {
  delete process.env.TABSWARM_WALLET_KEY
})

describe('tabswarm credits, epoch and claim against a distributor chain', () => {
  it('shows pending, closes an epoch, shows claimable, and the relay pays the claim', async () => {
    // 1.5 TSC plus one base unit: a float would lose the unit.
    relay.ledger.set(alice.address, (3n * TSC) / 2n + 1n)
    const before = await run(['credits', alice.address, '--relay', relay.url])
    expect(before.code).toBe(0)
    expect(before.stdout).toContain('balance 3')
    expect(before.stdout).toContain(
      'pending 1.500000000000000001 TSC, claimable 0 TSC, claimed 0 TSC',
    )

    const epoch = await run(['epoch', '--relay', relay.url])
    expect(epoch.code, epoch.stderr).toBe(0)
    expect(epoch.stdout).toMatch(
      /^epoch 1 confirmed: root 0x[0-9a-f]{64}, 1 leaves, 1.500000000000000001 TSC in all/,
    )

    const json = await run(['credits', alice.address, '--relay', relay.url, '--json'])
    expect(JSON.parse(json.stdout).settlement).toMatchObject({
      pending: '0',
      claimable: '1500000000000000001',
      claimed: '0',
    })

    const claim = await run(['claim', alice.address, '--relay', relay.url])
    expect(claim.code, claim.stderr).toBe(0)
    expect(claim.stderr).toMatch(/asking the relay to claim 1.500000000000000001 TSC/)
    expect(claim.stderr).toMatch(/waiting for its receipt/)
    expect(claim.stdout).toMatch(
      /paid 1.500000000000000001 TSC in block \d+ \(tx 0x[0-9a-f]{64}, gas paid by the relay\); claimed 1.500000000000000001 TSC in all/,
    )
    expect(await chain.balanceOf(alice.address)).toBe((3n * TSC) / 2n + 1n)
    expect(relay.requests).toContain('POST /v1/settlement/claims')

    const nothing = await run(['claim', alice.address, '--relay', relay.url])
    expect(nothing.code).toBe(1)
    expect(nothing.stderr).toMatch(/nothing to claim.*next epoch closes/)
  })

  it('with --wallet-key-file, that wallet sends the claim and pays the gas; --json', async () => {
    relay.ledger.set(bob.address, 2n * TSC)
    await run(['epoch', '--relay', relay.url])
    const dir = await mkdtemp(join(tmpdir(), 'tabswarm-claim-'))
    const keyFile = join(dir, 'payer.key')
    await writeFile(keyFile, `${keyOf(payer)}\n`)
    const claims = relay.requests.filter((r) => r === 'POST /v1/settlement/claims').length
    const ethBefore = await chain.publicClient.getBalance({ address: payer.address })
    const { code, stdout, stderr } = await run([
      'claim',
      bob.address,
      '--relay',
      relay.url,
      '--wallet-key-file',
      keyFile,
      '--json',
    ])
    expect(code, stderr).toBe(0)
    expect(JSON.parse(stdout)).toMatchObject({
      address: bob.address,
      paid: (2n * TSC).toString(),
      claimed: (2n * TSC).toString(),
      payer: payer.address,
    })
    expect(await chain.balanceOf(bob.address)).toBe(2n * TSC)
    expect(await chain.publicClient.getBalance({ address: payer.address })).toBeLessThan(ethBefore)
    // The relay was not asked.
    expect(relay.requests.filter((r) => r === 'POST /v1/settlement/claims').length).toBe(claims)
  })

  it('takes the key from TABSWARM_WALLET_KEY, and --relay-pays overrides it', async () => {
    relay.ledger.set(alice.address, 2n * TSC)
    await run(['epoch', '--relay', relay.url])
    process.env.TABSWARM_WALLET_KEY = keyOf(alice)
    const own = await run(['claim', alice.address, '--relay', relay.url])
    expect(own.code, own.stderr).toBe(0)
    expect(own.stdout).toContain(`gas paid by ${alice.address}`)
    expect(own.stdout).toMatch(/paid 0.499999999999999999 TSC/)

    relay.ledger.set(alice.address, 3n * TSC)
    await run(['epoch', '--relay', relay.url])
    const relayPays = await run(['claim', alice.address, '--relay', relay.url, '--relay-pays'])
    expect(relayPays.code, relayPays.stderr).toBe(0)
    expect(relayPays.stdout).toContain('gas paid by the relay')
    expect(await chain.balanceOf(alice.address)).toBe(3n * TSC)
  })

  it('without a published RPC URL, waits for the claim in the relay’s figures', async () => {
    const noRpc = await startSettlementApiStandIn(chain, {
      publishRpcUrl: false,
      ledger: relay.ledger,
    })
    try {
      relay.ledger.set(bob.address, 3n * TSC)
      await run(['epoch', '--relay', noRpc.url])
      const { code, stdout, stderr } = await run(['claim', bob.address, '--relay', noRpc.url])
      expect(code, stderr).toBe(0)
      expect(stdout).toMatch(
        /paid 1 TSC \(tx 0x[0-9a-f]{64}, gas paid by the relay\); claimed 3 TSC in all/,
      )
      // Sending it yourself needs the chain: the error names the flag.
      relay.ledger.set(bob.address, 4n * TSC)
      await run(['epoch', '--relay', noRpc.url])
      const keyFile = join(await mkdtemp(join(tmpdir(), 'tabswarm-claim-')), 'payer.key')
      await writeFile(keyFile, keyOf(payer))
      const own = await run([
        'claim',
        bob.address,
        '--relay',
        noRpc.url,
        '--wallet-key-file',
        keyFile,
      ])
      expect(own.code).toBe(2)
      expect(own.stderr).toMatch(/publishes no RPC URL for chain 31337: pass --rpc-url <url>/)
    } finally {
      await noRpc.close()
    }
  })
})
