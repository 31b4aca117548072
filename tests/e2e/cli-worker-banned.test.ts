import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { startTabswarm } from '@tabswarm/relay'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { runCli } from '../support/run-cli.ts'

const WALLET_KEY = `0x${'5'.repeat(64)}` as const

/**
 * `tabswarm worker` whose wallet the relay has banned: refused at hello, it says why and
 * exits 4 at once (before, it said hello again every 30 s, forever).
 */
describe('tabswarm worker, banned', () => {
  let relay: InProcessRelay

  beforeAll(async () => {
    relay = await startInProcessRelay()
    const { address } = privateKeyToAccount(WALLET_KEY)
    await relay.running.stop()
    const db = new DatabaseSync(join(relay.config.dataDir, 'coordinator.db'))
    db.prepare('INSERT INTO bans (key, reason, at) VALUES (?, ?, ?)').run(
      `wallet:${address}`,
      'faulty results (test)',
      Date.now(),
    )
    db.close()
    relay.running = await startTabswarm(relay.config, relay.log)
  })

  afterAll(async () => {
    await relay?.stop()
  })

  it('exits 4 with the relay’s reason, having asked once', async () => {
    const started = performance.now()
    const result = await runCli(['worker', '--relay', relay.running.url, '--json'], {
      env: { TABSWARM_WALLET_KEY: WALLET_KEY },
      timeoutMs: 60_000,
    })
    expect(result.code, result.stderr).toBe(4)
    expect(result.stderr).toMatch(
      /tabswarm: error: The relay refused hello: CONTRIBUTOR_BANNED: .*banned .*\(wallet\)/,
    )
    const events = result.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string })
    expect(events.filter((e) => e.type === 'relay-error')).toEqual([])
    expect(events.at(-1)).toMatchObject({ type: 'refused', code: 'CONTRIBUTOR_BANNED' })
    expect(performance.now() - started).toBeLessThan(30_000)
  }, 90_000)
})
