import type { BenchArea, BenchRow } from '../bench-types.ts'
import { runChurnSuite } from '../reliability/churn.ts'
import { runCrashSuite } from '../reliability/crash.ts'
import { runFuzzSuite } from '../reliability/fuzz.ts'
import { runLoadSuite } from '../reliability/load.ts'
import { runSaboteursSuite } from '../reliability/saboteurs.ts'

type Suite = (options: {
  log: (line: string) => void
  long: boolean
  signal?: AbortSignal
}) => Promise<BenchRow[]>

/**
 * Every suite of the area, in the order they run. Each returns its own rows; one failing
 * suite is reported in the notes and the others still run.
 */
const suites: Array<{ name: string; run: Suite }> = [
  { name: 'saboteurs', run: runSaboteursSuite },
  { name: 'churn', run: runChurnSuite },
  { name: 'crash', run: runCrashSuite },
  { name: 'fuzz', run: runFuzzSuite },
  { name: 'load', run: runLoadSuite },
]

/**
 * `npm run bench:reliability`: the system under faults. `TABSWARM_BENCH_LONG=1` runs the long
 * versions (10,000 fuzz cases, a 10-minute load run); `TABSWARM_RELIABILITY_SUITES=fuzz,load`
 * picks suites.
 */
export const reliabilityArea: BenchArea = {
  name: 'reliability',
  title:
    'Reliability: saboteurs, churn, crashes, fuzzing and load, with the invariants each must keep',
  async run(log) {
    const long = process.env.TABSWARM_BENCH_LONG === '1'
    const wanted = process.env.TABSWARM_RELIABILITY_SUITES?.split(',').filter(Boolean)
    const rows: BenchRow[] = []
    const notes: string[] = []
    for (const suite of suites) {
      if (wanted != null && !wanted.includes(suite.name)) continue
      const started = performance.now()
      log(`suite ${suite.name} (${long ? 'long' : 'short'})`)
      try {
        rows.push(...(await suite.run({ log: (line) => log(`${suite.name}: ${line}`), long })))
      } catch (err) {
        log(`suite ${suite.name} failed: ${String((err as Error)?.stack ?? err)}`)
        notes.push(`The ${suite.name} suite failed: ${String(err)}`)
      }
      log(`suite ${suite.name} done in ${((performance.now() - started) / 1000).toFixed(0)} s`)
    }
    return {
      rows,
      machine: { long },
      notes: [
        ...notes,
        'Fuzz: seeded cases (mulberry32; a failing case prints its seed and index) against an in-process relay over real libp2p streams (work and blob protocols, gossipsub discovery announcements, each announcement also run through the relay’s validator in-process for its verdict) and real HTTP (every route of /v1/openapi.json plus made-up paths). Kinds: random bytes, truncations, huge and lying length prefixes, bad UTF-8, wrong types and edge numbers (−0, 2^53, 1e308, NaN/1e999 as raw JSON), dropped and unknown fields, deep nesting (up to 100,000 levels), results whose payload disagrees with their slots (also for leases the fuzzing peer really holds), junk auth headers. A case fails when the relay neither answers with a typed error nor resets the stream (wire), or answers 5xx or a 4xx without { error: { code, message } } (HTTP). A crash is an uncaught exception or rejection, or a relay that stops answering its health route or a fresh work stream (probed every 500 cases). Afterwards the running jobs are cancelled, the relay stopped and its SQLite store opened: the ledger must sum to zero and no job be half written. peak_rss_mb is this whole process (the relay and the fuzzing peers).',
        'Load: a `tabswarm start` child process (its RSS read from /proc); simulated contributors in the bench process, each a libp2p node (WebSockets, noise, yamux) running the real contributor loop (`@tabswarm/sdk/contributor`) with the CPU reference matmul as its kernel, joining at 80 connections/s; a job stream keeps max(4, contributors/8) jobs of 64×32·32×64 (16 tiles of 16×16) running and replaces each as it ends. Task latency = from the lease reaching the contributor (task-started) to its result acknowledged accepted; tasks/s and latency exclude the warm-up. lost_tasks = tasks of jobs not completed after a drain of at most 180 s; double_paid = pay transfers beyond one per accepted task (Freivalds, one replica).',
        'Stalled streams: four peers each open a work stream and stop sending (nothing sent, inside the length prefix, inside the header, inside a declared 1 MiB result payload) without closing it; the row is the slowest time until the relay ends the stream. The relay cuts a stream that sends nothing for 5 s while it is read (`TABSWARM_WORK_READ_IDLE_MS`); before issue 9 (defect 1) it held each for its 60 s request deadline (60,041 ms measured on 2026-12-07 before the fix).',
        'The relay, every simulated contributor and the job stream share the machine’s 2 cores: throughput and latency bound the software on 2 cores, not a deployment. In the load run the relay used 0.93 of a core: with 1,000 contributors each asking for work again 1 s after a `no-work`, idle polling alone keeps it busy, and jobs of 16 tiles end in waves that the job stream replaces by polling, so the tasks/s has stretches of 0.',
      ],
    }
  },
}
