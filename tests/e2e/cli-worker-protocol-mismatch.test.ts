import type { Libp2p } from '@libp2p/interface'
import { WORK_PROTOCOL } from '@tabswarm/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startForeignRelay } from '../support/foreign-relay.ts'
import { runCli } from '../support/run-cli.ts'

const WALLET_KEY = `0x${'6'.repeat(64)}` as const

/**
 * `tabswarm worker` at a relay of an older release (it speaks `/tabswarm/work/1.0.0`): the
 * worker says which versions meet and what to update, and exits 4 like any refusal for good
 * (before, the failed negotiation was a relay error, retried every 30 s forever).
 */
describe('tabswarm worker, relay of another work protocol version', () => {
  let relay: Libp2p

  beforeAll(async () => {
    relay = await startForeignRelay(['/tabswarm/work/1.0.0'])
  })

  afterAll(async () => {
    await relay?.stop()
  })

  it('exits 4, naming both versions and the fix', async () => {
    const started = performance.now()
    const result = await runCli(
      ['worker', '--relay', relay.getMultiaddrs()[0]!.toString(), '--json'],
      { env: { TABSWARM_WALLET_KEY: WALLET_KEY }, timeoutMs: 60_000 },
    )
    expect(result.code, result.stderr).toBe(4)
    expect(result.stderr).toContain(
      `tabswarm: error: The relay refused hello: WORK_PROTOCOL_UNSUPPORTED: the relay speaks work protocol /tabswarm/work/1.0.0; this contributor speaks ${WORK_PROTOCOL}: the relay is older than this contributor: ask its operator to update it`,
    )
    const events = result.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string })
    expect(events.at(-1)).toMatchObject({ type: 'refused', code: 'WORK_PROTOCOL_UNSUPPORTED' })
    expect(performance.now() - started).toBeLessThan(30_000)
  }, 90_000)
})
