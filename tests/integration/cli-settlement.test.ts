import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { main } from '@tabswarm/sdk/cli'
import { formatUnits, type LocalAccount, toHex } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { DEV_MNEMONIC } from '../../relay/src/settlement/chain/local-chain.ts'
import { creditTokenAbi } from '../../relay/src/settlement/contracts/CreditToken.artifact.ts'
import {
  type SettlementFixture,
  startSettlementFixture,
} from '../../relay/src/settlement/testing/settlement-fixture.ts'
import { earnCredits } from '../support/earn-credits.ts'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { type SettlementRelay, startSettlementRelay } from '../support/settlement-relay.ts'

/**
 * `tabswarm credits`, `claim` and `epoch` against a real relay settling on its embedded
 * chain: wallets earn credits for real (an in-process contributor bound to the wallet
 * computes a small job), the operator closes epochs, the relay or a wallet key pays the
 * claim. Every figure is checked against the ledger's earned credits times the relay's
 * units per credit, formatted here with viem (not the SDK's formatter) to the last unit.
 */

/** The chain's funded dev accounts; the embedded relay posts roots with account 0. */
const dev = (index: number) => mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index })
const alice = dev(1)
const bob = dev(2)
/** Holds ETH and no leaf: pays the gas of bob's claim with --wallet-key-file. */
const payer = dev(3)
const keyOf = (account: ReturnType<typeof dev>) => toHex(account.getHdKey().privateKey!)
/**
 * Base units per credit: one token of 6 decimals is 10^6 units, so a credit is 10^10 tokens
 * and one unit. Past 2^53 units a float drops that unit; a forgotten multiplication shows.
 */
const UNITS_PER_CREDIT = 10n ** 16n + 1n
const tokens = (units: bigint) => `${formatUnits(units, 6)} TSWC`

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

afterEach(() => {
  delete process.env.TABSWARM_WALLET_KEY
})

describe('tabswarm credits, epoch and claim against a relay settling on its embedded chain', () => {
  let relay: SettlementRelay
  /** Earns credits for `wallet`; resolves with them in token base units. */
  const earn = async (wallet: LocalAccount, seed: number) =>
    (await earnCredits(relay, wallet, { seed })) * UNITS_PER_CREDIT

  beforeAll(async () => {
    relay = await startSettlementRelay({ unitsPerCredit: UNITS_PER_CREDIT, tileSize: 8 })
    const info = await (await fetch(`${relay.running.url}/v1/settlement`)).json()
    expect(info).toMatchObject({
      token: { symbol: 'TSWC', decimals: 6 },
      unitsPerCredit: UNITS_PER_CREDIT.toString(),
    })
  }, 60_000)
  afterAll(async () => {
    await relay?.stop()
  })

  it('shows pending, closes an epoch, shows claimable, and the relay pays the claim', async () => {
    const earned = await earn(alice, 1)
    const credits = earned / UNITS_PER_CREDIT
    const before = await run(['credits', alice.address, '--relay', relay.running.url])
    expect(before.code, before.stderr).toBe(0)
    expect(before.stdout).toContain(`earned ${credits} (0 pending verification)`)
    expect(before.stdout).toContain(`pending ${tokens(earned)}, claimable 0 TSWC, claimed 0 TSWC`)

    const epoch = await run(['epoch', '--relay', relay.running.url])
    expect(epoch.code, epoch.stderr).toBe(0)
    expect(epoch.stdout).toMatch(
      new RegExp(`^epoch 1 confirmed: root 0x[0-9a-f]{64}, 1 leaf, ${tokens(earned)} in all`),
    )

    const json = await run(['credits', alice.address, '--relay', relay.running.url, '--json'])
    expect(JSON.parse(json.stdout)).toMatchObject({
      earned: credits.toString(),
      settlement: { pending: '0', claimable: earned.toString(), claimed: '0' },
    })

    const claims = relay.claimsSent()
    const claim = await run(['claim', alice.address, '--relay', relay.running.url])
    expect(claim.code, claim.stderr).toBe(0)
    expect(claim.stderr).toContain(`asking the relay to claim ${tokens(earned)}`)
    expect(claim.stderr).toMatch(/waiting for its receipt/)
    expect(claim.stdout).toMatch(
      new RegExp(
        `paid ${tokens(earned)} in block \\d+ \\(tx 0x[0-9a-f]{64}, gas paid by the relay\\); claimed ${tokens(earned)} in all`,
      ),
    )
    expect(await relay.balanceOf(alice.address)).toBe(earned)
    expect(relay.claimsSent()).toBe(claims + 1)

    const nothing = await run(['claim', alice.address, '--relay', relay.running.url])
    expect(nothing.code).toBe(1)
    expect(nothing.stderr).toMatch(/nothing to claim.*next epoch closes/)
    expect(await relay.balanceOf(alice.address)).toBe(earned)
  }, 120_000)

  it('with --wallet-key-file, that wallet sends the claim and pays the gas; --json', async () => {
    const earned = await earn(bob, 2)
    expect((await run(['epoch', '--relay', relay.running.url])).code).toBe(0)
    const dir = await mkdtemp(join(tmpdir(), 'tabswarm-claim-'))
    const keyFile = join(dir, 'payer.key')
    await writeFile(keyFile, `${keyOf(payer)}\n`)
    const claims = relay.claimsSent()
    const ethBefore = await relay.publicClient.getBalance({ address: payer.address })
    const { code, stdout, stderr } = await run([
      'claim',
      bob.address,
      '--relay',
      relay.running.url,
      '--wallet-key-file',
      keyFile,
      '--json',
    ])
    expect(code, stderr).toBe(0)
    expect(JSON.parse(stdout)).toMatchObject({
      address: bob.address,
      paid: earned.toString(),
      claimed: earned.toString(),
      payer: payer.address,
    })
    expect(await relay.balanceOf(bob.address)).toBe(earned)
    // The tokens went to bob, the gas came from the payer, which got no tokens.
    expect(await relay.publicClient.getBalance({ address: payer.address })).toBeLessThan(ethBefore)
    expect(await relay.balanceOf(payer.address)).toBe(0n)
    expect(relay.claimsSent()).toBe(claims)
  }, 120_000)

  it('takes the key from TABSWARM_WALLET_KEY, and --relay-pays overrides it', async () => {
    const claimedBefore = await relay.balanceOf(alice.address)
    const second = await earn(alice, 3)
    expect((await run(['epoch', '--relay', relay.running.url])).code).toBe(0)
    process.env.TABSWARM_WALLET_KEY = keyOf(alice)
    const own = await run(['claim', alice.address, '--relay', relay.running.url])
    expect(own.code, own.stderr).toBe(0)
    expect(own.stdout).toContain(`gas paid by ${alice.address}`)
    // Only what the new epoch added: the first epoch's tokens were claimed already.
    expect(own.stdout).toContain(`paid ${tokens(second)}`)
    expect(own.stdout).toContain(`claimed ${tokens(claimedBefore + second)} in all`)
    expect(await relay.balanceOf(alice.address)).toBe(claimedBefore + second)

    const third = await earn(alice, 4)
    // The operator closes epochs, not alice: her key would sign the request as her.
    delete process.env.TABSWARM_WALLET_KEY
    expect((await run(['epoch', '--relay', relay.running.url])).code).toBe(0)
    process.env.TABSWARM_WALLET_KEY = keyOf(alice)
    const relayPays = await run([
      'claim',
      alice.address,
      '--relay',
      relay.running.url,
      '--relay-pays',
    ])
    expect(relayPays.code, relayPays.stderr).toBe(0)
    expect(relayPays.stdout).toContain(`paid ${tokens(third)}`)
    expect(relayPays.stdout).toContain('gas paid by the relay')
    expect(await relay.balanceOf(alice.address)).toBe(claimedBefore + second + third)
  }, 120_000)
})

describe('tabswarm claim against a relay that publishes no RPC URL', () => {
  let fixture: SettlementFixture
  let relay: InProcessRelay

  beforeAll(async () => {
    // A relay settling on an external chain without TABSWARM_CHAIN_PUBLIC_RPC_URL: the
    // fixture deploys the contracts, its poster funds the distributor ahead, as an operator would.
    fixture = await startSettlementFixture()
    await fixture.publicClient.waitForTransactionReceipt({
      hash: await fixture.walletOf(fixture.poster).writeContract({
        address: fixture.token,
        abi: creditTokenAbi,
        functionName: 'mint',
        args: [fixture.distributor, 10n ** 30n],
      }),
    })
    relay = await startInProcessRelay({
      tileSize: 8,
      settlement: {
        mode: 'chain',
        rpcUrl: fixture.chain.rpcUrl,
        posterKey: fixture.posterKey,
        distributor: fixture.distributor,
        token: fixture.token,
        epochMinutes: 0,
        unitsPerCredit: UNITS_PER_CREDIT,
        operators: ['operator'],
      },
    })
  }, 60_000)
  afterAll(async () => {
    await relay?.stop()
    await fixture?.close()
  })

  it('waits for the claim in the relay’s figures, and a key needs --rpc-url', async () => {
    const url = relay.running.url
    const info = await (await fetch(`${url}/v1/settlement`)).json()
    expect(info.rpcUrl).toBeNull()
    const earned = (await earnCredits(relay, bob, { seed: 5 })) * UNITS_PER_CREDIT
    expect((await run(['epoch', '--relay', url])).code).toBe(0)
    const { code, stdout, stderr } = await run(['claim', bob.address, '--relay', url])
    expect(code, stderr).toBe(0)
    // No block number: the CLI read no receipt, only the relay's claimed figure.
    expect(stdout).toMatch(
      new RegExp(
        `paid ${tokens(earned)} \\(tx 0x[0-9a-f]{64}, gas paid by the relay\\); claimed ${tokens(earned)} in all`,
      ),
    )
    expect(await fixture.balanceOf(bob.address)).toBe(earned)

    // Sending it yourself needs the chain: the error names the flag.
    await earnCredits(relay, bob, { seed: 6 })
    expect((await run(['epoch', '--relay', url])).code).toBe(0)
    const keyFile = join(await mkdtemp(join(tmpdir(), 'tabswarm-claim-')), 'payer.key')
    await writeFile(keyFile, keyOf(payer))
    const own = await run(['claim', bob.address, '--relay', url, '--wallet-key-file', keyFile])
    expect(own.code).toBe(2)
    expect(own.stderr).toMatch(/publishes no RPC URL for chain 31337: pass --rpc-url <url>/)
    expect(await fixture.balanceOf(bob.address)).toBe(earned)
  }, 120_000)
})
