/**
 * Closes one epoch in a process of its own, for the SIGKILL tests: the closer runs on a real
 * SQLite file against a fake chain kept in a file, and with `--kill-at method:when[:n]` the
 * process kills itself with SIGKILL before or after the n-th call of that chain method
 * (no cleanup, no flush: what a crash leaves). Prints the close's outcome as JSON.
 *
 * node close-epoch-process.ts <db> <chain file> <earned JSON: [[account, credits], ...]> [--kill-at send:after]
 */
import { silentLogger } from '../../log.ts'
import { createSqliteStore } from '../../store/sqlite-store.ts'
import { createEpochCloser } from '../epoch-closer.ts'
import { createFakeSettlementChain } from './fake-settlement-chain.ts'

const [db, chainFile, earnedJson, flag, killAt] = process.argv.slice(2)
if (db == null || chainFile == null || earnedJson == null)
  throw new Error(
    'usage: close-epoch-process.ts <db> <chain file> <earned JSON> [--kill-at method:when[:n]]',
  )
const chain = createFakeSettlementChain({ file: chainFile })
if (flag === '--kill-at' && killAt != null) {
  const [method, when, nth] = killAt.split(':') as [keyof typeof chain, 'before' | 'after', string?]
  const original = (chain[method] as (...args: unknown[]) => Promise<unknown>).bind(chain)
  let calls = 0
  const die = () => process.kill(process.pid, 'SIGKILL')
  Object.assign(chain, {
    [method]: async (...args: unknown[]) => {
      const kill = ++calls === Number(nth ?? 1)
      if (kill && when === 'before') die()
      const value = await original(...args)
      if (kill && when === 'after') die()
      return value
    },
  })
}
const earned = (JSON.parse(earnedJson) as Array<[string, string]>).map(([account, total]) => ({
  account,
  total: BigInt(total),
}))
const store = createSqliteStore({ path: db })
const closer = createEpochCloser({
  store,
  chain,
  earnedTotals: () => earned,
  unitsPerCredit: 1n,
  log: silentLogger,
  receiptTimeoutMs: 50,
})
const outcome = await closer.close()
process.stdout.write(
  `${JSON.stringify({ closed: outcome.closed, epoch: outcome.closed ? outcome.epoch.epoch : null })}\n`,
)
store.close()
