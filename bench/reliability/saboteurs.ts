import { join } from 'node:path'
import { startInProcessRelay } from '../../tests/support/in-process-relay.ts'
import { randomMatrix } from '../../tests/support/random-matrix.ts'
import type { BenchRow } from '../bench-types.ts'
import { bannedPeers } from './banned-peers.ts'
import { jobEnd } from './job-end.ts'
import { auditLedger } from './ledger-audit.ts'
import { matmulJobSpec } from './matmul-job-spec.ts'
import { pollUntil } from './poll-until.ts'
import {
  aboveToleranceAnswer,
  colluderAnswer,
  copierAnswer,
  noiseAnswer,
  type SaboteurKind,
} from './saboteur-answers.ts'
import { createSeededRandom, reliabilitySeed } from './seeded-random.ts'
import { type SimContributor, startSimContributor, type TileAnswer } from './sim-contributor.ts'
import { runSleeperCase } from './sleeper.ts'
import { boundedSignal, type ReliabilitySuiteOptions } from './suite-options.ts'
import { runSybilCase } from './sybil.ts'
import { runWireAttacks } from './wire-attack-cases.ts'
import { referenceProduct, wrongTiles } from './wrong-tiles.ts'

const TILE = 8

/**
 * Saboteurs: contributors returning noise, errors just above tolerance, one colluding wrong
 * answer, and copies of others' accepted results, through the real contributor loop and
 * libp2p, beside honest ones, on a Freivalds job and a votes-only job; crafted frames over
 * the wire (results for leases never granted, replays, another peer's lease); and a Sybil
 * operator with many peer ids and wallets behind one address (coordinator API, see
 * sybil.ts). Expected: no wrong result accepted, no credit to any saboteur.
 */
export async function runSaboteursSuite(options: ReliabilitySuiteOptions): Promise<BenchRow[]> {
  const { log, long } = options
  const seed = reliabilitySeed()
  const random = createSeededRandom(seed)
  const signal = boundedSignal(options.signal, long ? 600_000 : 120_000)
  const counts = long
    ? { honest: 10, noise: 2, 'above-tolerance': 2, colluder: 4, copier: 2 }
    : { honest: 5, noise: 1, 'above-tolerance': 1, colluder: 3, copier: 1 }
  const shape = long ? { m: 256, k: 64, n: 256 } : { m: 96, k: 32, n: 96 }
  const what = (part: string) => `${part} (seed ${seed})`
  log(`saboteurs: seed ${seed}`)

  const relay = await startInProcessRelay({ tileSize: TILE, leaseMs: 5_000 })
  const c = relay.running.coordinator
  const relayAddr = relay.running.multiaddrs[0]!
  const jobIds: string[] = []
  const copies = { copied: 0, guessed: 0 }
  const acceptedBlobs = async () =>
    (await Promise.all(jobIds.map((id) => c.results(id, { limit: 1000 })))).flatMap((page) =>
      page.results.map((r) => ({
        blob: r.outputs[0]!.blob,
        elements: r.outputs[0]!.shape.reduce((x, y) => x * y, 1),
      })),
    )
  const sims: Array<{ kind: SaboteurKind | 'honest'; sim: SimContributor; retired?: boolean }> = []
  try {
    const answers: Record<SaboteurKind, () => TileAnswer> = {
      noise: () => noiseAnswer(random),
      'above-tolerance': () => aboveToleranceAnswer,
      colluder: () => colluderAnswer,
      copier: () => copierAnswer(relay.running.url, acceptedBlobs, random, copies),
    }
    // Saboteurs join first: alone at the start, they get the first leases. Copiers come
    // once there are accepted results to copy.
    for (const kind of ['noise', 'above-tolerance', 'colluder'] as const)
      for (let i = 0; i < counts[kind]; i++)
        sims.push({
          kind,
          sim: await startSimContributor({ relayAddr, answer: answers[kind](), label: kind }),
        })
    await c.grant('researcher', 10n ** 12n)
    const inputs: Array<{ a: Float32Array; b: Float32Array }> = []
    for (const [index, verification] of [
      { canaries: 0 },
      { freivalds: 0, canaries: 0 },
    ].entries()) {
      const { m, k, n } = shape
      const a = randomMatrix(m, k, seed + 2 * index)
      const b = randomMatrix(k, n, seed + 2 * index + 1)
      inputs.push({ a, b })
      const blobs = {
        a: await relay.putBlob(new Uint8Array(a.buffer)),
        b: await relay.putBlob(new Uint8Array(b.buffer)),
      }
      const job = await c.submit(matmulJobSpec(blobs, shape, { verification, budget: 1e10 }), {
        account: 'researcher',
      })
      jobIds.push(job.id)
    }
    // The wire attacks need tasks to lease: they run while the saboteurs alone hold the field.
    const wire = await runWireAttacks(relayAddr)
    for (const o of wire.outcomes) log(`saboteurs: wire ${o.kind}: ${o.outcome}`)
    for (let i = 0; i < counts.honest; i++)
      sims.push({ kind: 'honest', sim: await startSimContributor({ relayAddr, label: 'honest' }) })
    await pollUntil(
      'accepted results for the copiers to copy',
      async () =>
        (await c.results(jobIds[0]!, { limit: 5 })).results.length >= 5 ? true : undefined,
      { timeoutMs: 30_000, signal },
    )
    for (let i = 0; i < counts.copier; i++)
      sims.push({
        kind: 'copier',
        sim: await startSimContributor({ relayAddr, answer: answers.copier(), label: 'copier' }),
      })

    // Whitewashing: a banned saboteur comes back as a fresh peer id of the same kind, until
    // the jobs end or the respawns run out; each newcomer must be caught all over again.
    const ending = Promise.all(jobIds.map((id) => jobEnd(c, id, signal)))
    let over = false
    void ending.finally(() => {
      over = true
    })
    let respawns = 0
    const maxRespawns = long ? 60 : 6
    while (!over && respawns < maxRespawns && !signal.aborted) {
      await Promise.race([ending.catch(() => undefined), new Promise((r) => setTimeout(r, 100))])
      await c.durable()
      const banned = bannedPeers(join(relay.config.dataDir, 'coordinator.db'))
      for (const entry of sims.filter(
        (x) => x.kind !== 'honest' && !x.retired && banned.has(x.sim.peerId),
      )) {
        if (over || respawns >= maxRespawns) break
        entry.retired = true
        await entry.sim.stop()
        const kind = entry.kind as SaboteurKind
        sims.push({
          kind,
          sim: await startSimContributor({ relayAddr, answer: answers[kind](), label: kind }),
        })
        respawns++
      }
    }
    log(`saboteurs: ${respawns} banned saboteurs came back under fresh peer ids`)
    const views = await ending
    await c.durable()
    let wrong = 0
    let accepted = 0
    let rejected = 0
    for (const [index, view] of views.entries()) {
      log(
        `saboteurs: job ${view.id} ${view.status}${view.error ? ` (${view.error})` : ''}, ${view.tasks.rejectedResults} results rejected`,
      )
      accepted += view.tasks.accepted
      rejected += view.tasks.rejectedResults
      if (view.status !== 'completed') continue
      const { a, b } = inputs[index]!
      wrong += wrongTiles(
        await c.jobOutput(view.id),
        referenceProduct(a, b, shape.m, shape.k, shape.n),
        TILE,
      ).length
    }
    log(
      `saboteurs: copiers sent ${copies.copied} copies of accepted results and ${copies.guessed} guesses`,
    )
    const creditOf = async (peerId: string) => {
      const view = await c.account(`peer:${peerId}`)
      return Number(view.earned + view.pending + view.balance)
    }
    const credits: Record<string, number> = {}
    for (const { kind, sim } of sims.filter((s) => s.kind !== 'honest'))
      credits[kind] = (credits[kind] ?? 0) + (await creditOf(sim.peerId))
    credits.wire = 0
    for (const peerId of wire.attackers) credits.wire += await creditOf(peerId)

    const sybil = await runSybilCase({
      random,
      sybils: long ? 12 : 6,
      honest: long ? 8 : 4,
      shape: long ? { m: 128, k: 32, n: 128 } : { m: 64, k: 16, n: 64 },
    })
    log(`saboteurs: sybil ${JSON.stringify(sybil)}`)
    credits.sybil = sybil.sybilCredits
    const sleeper = await runSleeperCase({
      random,
      recordTiles: 4096,
      votedTiles: long ? 4096 : 1024,
    })
    log(`saboteurs: sleeper ${JSON.stringify(sleeper)}`)
    credits.sleeper = sleeper.sleeperCredits

    const swarmCase = what(
      `${accepted} tasks of a Freivalds and a votes-only matmul; ${counts.honest} honest contributors beside ${counts.noise} noise, ${counts['above-tolerance']} just-above-tolerance, ${counts.colluder} colluding and ${counts.copier} copying saboteurs over libp2p`,
    )
    const perTenK = (w: number, n: number) => (n === 0 ? 0 : (w / n) * 10_000)
    const wireSucceeded = wire.outcomes.filter((o) => o.succeeded).length
    const rows: BenchRow[] = [
      {
        case: swarmCase,
        metric: 'wrong_accepted_per_10k',
        value: perTenK(wrong, accepted),
        unit: 'per 10k results',
      },
      { case: swarmCase, metric: 'wrong_results_submitted', value: rejected, unit: 'results' },
      { case: swarmCase, metric: 'copies_sent', value: copies.copied, unit: 'results' },
      {
        case: what(
          `Sybil: ${long ? 12 : 6} peer ids and wallets behind one address, votes only, ${sybil.accepted} tasks`,
        ),
        metric: 'wrong_accepted_per_10k',
        value: perTenK(sybil.wrongAccepted, sybil.accepted),
        unit: 'per 10k results',
      },
      {
        case: what(`crafted frames over libp2p: ${wire.outcomes.map((o) => o.kind).join(', ')}`),
        metric: 'attacks_accepted',
        value: wireSucceeded,
        unit: 'frames',
      },
      {
        case: what(
          'all saboteurs: noise, above tolerance, colluders, copiers, wire attackers, Sybil, sleeper',
        ),
        metric: 'saboteur_credits',
        value: Object.values(credits).reduce((x, y) => x + y, 0),
        unit: 'credits',
      },
      ...Object.entries(credits).map(([kind, value]) => ({
        case: what(`saboteur kind: ${kind}`),
        metric: 'saboteur_credits',
        value,
        unit: 'credits',
      })),
      {
        case: what(
          `sleeper: ${sleeper.record} tiles verified right, then wrong on every tile of a votes-only job (freivalds: 0), ${sleeper.accepted} tasks`,
        ),
        metric: 'wrong_accepted_per_10k',
        value: perTenK(sleeper.wrongAccepted, sleeper.accepted),
        unit: 'per 10k results',
      },
      {
        case: what('Sybil operator: its one address banned'),
        metric: 'sybil_address_banned',
        value: sybil.addressBanned ? 1 : 0,
        unit: 'bool',
      },
      {
        case: what('ledger after both jobs and the Sybil case'),
        metric: 'ledger_imbalance',
        value:
          Math.abs(auditLedger(join(relay.config.dataDir, 'coordinator.db')).imbalance) +
          Math.abs(sybil.ledgerImbalance),
        unit: 'credits',
      },
    ]
    return rows
  } finally {
    await Promise.allSettled(sims.map(({ sim }) => sim.stop()))
    await relay.stop()
  }
}
