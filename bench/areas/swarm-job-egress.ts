import type { JobSpec, TensorRef } from '@tabswarm/protocol'
import { createClient, type TabswarmClient } from '@tabswarm/sdk'
import type { Browser } from 'playwright'
import { launchChromium } from '../../tests/support/chromium.ts'
import { type InProcessRelay, startInProcessRelay } from '../../tests/support/in-process-relay.ts'
import { openSwarmTab, type SwarmTab } from '../../tests/support/swarm-tabs.ts'
import type { BenchRow } from '../bench-types.ts'

/**
 * Relay egress of real jobs run by contributor tabs, with job data over the tab-to-tab data
 * plane (leases name inputs by sha-256; tabs fetch from the peers the coordinator names,
 * the relay as the fallback) beside the same job with peer hints off (`peerInputs: false`:
 * every tab fetches from the relay, its own cache still counting), in the same run.
 */

const TABS = 4

/** How the job egress rows are measured, for the report's notes. */
export const EGRESS_NOTE =
  "each job runs on 4 contributor tabs (one Chromium, SwiftShader) against an in-process relay, twice: peers first (leases name the peers that announced holding each input; tabs fetch from them over direct WebRTC, the relay as the fallback) and all-from-relay (the relay setting `peerInputs` off: leases name no providers, so every tab fetches each input it lacks from the relay; its own cache still counts). relay_egress_bytes_per_task = the increase of the relay's `tabswarm_relay_blob_bytes_sent_total` and `tabswarm_relay_work_bytes_sent_total` over the job ÷ its tasks. The peer share is bytesFromPeers ÷ (bytesFromPeers + bytesFromRelay) summed over the tabs' swarm stats. Matmul: 512×512·512×512 in 64×64 tiles (64 tasks; each 128 KiB row band of A and column band of B is read by 8 tiles). Custom: 16 uploaded float32 inputs of 1 MiB, 64 tasks each adding two of them."
/** Matmul: 512×512·512×512 in 64×64 tiles, so every 128 KiB band is read by 8 tiles. */
const MATMUL = { m: 512, k: 512, n: 512, tile: 64 }
/** Custom: 16 input blobs of 1 MiB, 64 tasks, each reading two of them. */
const CUSTOM = { blobs: 16, elements: 262_144, tasks: 64 }

const ADD_WGSL = `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> z: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < arrayLength(&z)) { z[g.x] = x[g.x] + y[g.x]; }
}`

/** The relay's egress counters, summed: blob bytes sent plus work-protocol bytes sent. */
async function relayEgressBytes(relay: InProcessRelay): Promise<number> {
  const text = await (
    await fetch(`${relay.running.url}/metrics`, { signal: AbortSignal.timeout(10_000) })
  ).text()
  let total = 0
  for (const line of text.split('\n')) {
    if (/^tabswarm_relay_(blob|work)_bytes_sent_total(\{[^}]*\})? /.test(line))
      total += Number(line.split(' ').at(-1))
  }
  return total
}

function seeded(seed: number, n: number): Float32Array {
  const out = new Float32Array(n)
  let s = seed >>> 0
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s / 2 ** 32 - 0.5
  }
  return out
}

async function matmulSpec(client: TabswarmClient): Promise<JobSpec> {
  const { m, k, n } = MATMUL
  const a = await client.uploadTensor({ dtype: 'float32', shape: [m, k], data: seeded(1, m * k) })
  const b = await client.uploadTensor({ dtype: 'float32', shape: [k, n], data: seeded(2, k * n) })
  return { kernel: 'matmul', inputs: { a, b }, name: 'egress-matmul' }
}

async function customSpec(client: TabswarmClient): Promise<JobSpec> {
  const { blobs, elements, tasks } = CUSTOM
  const refs: TensorRef[] = []
  for (let i = 0; i < blobs; i++)
    refs.push(
      await client.uploadTensor({
        dtype: 'float32',
        shape: [elements],
        data: seeded(100 + i, elements),
      }),
    )
  return {
    kernel: 'custom',
    name: 'egress-custom',
    program: {
      wgsl: ADD_WGSL,
      inputs: [
        { name: 'x', dtype: 'float32' },
        { name: 'y', dtype: 'float32' },
      ],
      outputs: [{ name: 'z', dtype: 'float32' }],
    },
    tasks: Array.from({ length: tasks }, (_, t) => ({
      inputs: [refs[t % blobs]!, refs[(t * 5 + 3) % blobs]!],
      outputs: [{ shape: [elements], dtype: 'float32' as const }],
      workgroups: [elements / 256, 1, 1] as [number, number, number],
    })),
  }
}

interface EgressFigures {
  bytesPerTask: number
  peerFraction: number
  tasks: number
  elapsedMs: number
}

async function runJob(
  browser: Browser,
  pageRoot: string,
  peerInputs: boolean,
  build: (client: TabswarmClient) => Promise<JobSpec>,
  log: (line: string) => void,
): Promise<EgressFigures> {
  const relay = await startInProcessRelay({
    webRoot: pageRoot,
    tileSize: MATMUL.tile,
    peerInputs,
  })
  const context = await browser.newContext()
  const tabs: SwarmTab[] = []
  try {
    for (let i = 0; i < TABS; i++) tabs.push(await openSwarmTab(context, relay.running.url))
    // Peers can serve only once they are linked: wait for each tab's direct links.
    for (const tab of tabs)
      await tab.page.waitForFunction(
        (want) => globalThis.tabswarm.stats().peers.direct >= want,
        TABS - 1,
        { timeout: 60_000 },
      )
    const client = createClient({ relay: relay.running.url })
    const spec = await build(client)
    const before = await relayEgressBytes(relay)
    const started = performance.now()
    const job = await client.submit(spec)
    const done = await job.wait({ signal: AbortSignal.timeout(300_000) })
    if (done.status !== 'completed')
      throw new Error(`bench job ${done.id} ended ${done.status}: ${done.error ?? ''}`)
    const elapsedMs = performance.now() - started
    const egress = (await relayEgressBytes(relay)) - before
    const stats = await Promise.all(
      tabs.map((t) => t.page.evaluate(() => globalThis.tabswarm.stats().blobs)),
    )
    const fromPeers = stats.reduce((s, b) => s + b.bytesFromPeers, 0)
    const fromRelay = stats.reduce((s, b) => s + b.bytesFromRelay, 0)
    const tasks = done.tasks.total
    log(
      `${spec.name} (${peerInputs ? 'peers first' : 'all from relay'}): ${tasks} tasks in ${(elapsedMs / 1000).toFixed(1)} s, relay egress ${(egress / 1024).toFixed(0)} KiB, inputs ${(fromPeers / 1024).toFixed(0)} KiB from peers, ${(fromRelay / 1024).toFixed(0)} KiB from the relay`,
    )
    return {
      bytesPerTask: egress / tasks,
      peerFraction: fromPeers + fromRelay > 0 ? fromPeers / (fromPeers + fromRelay) : 0,
      tasks,
      elapsedMs,
    }
  } finally {
    await context.close()
    await relay.stop()
  }
}

/**
 * Runs a matmul and a custom job on 4 tabs, each twice: peers first, then all from the
 * relay. Rows: relay egress per task (vs all-from-relay) and the share of input bytes
 * peers served.
 */
export async function measureJobEgress(
  pageRoot: string,
  log: (line: string) => void,
): Promise<BenchRow[]> {
  const rows: BenchRow[] = []
  const browser = await launchChromium()
  try {
    for (const [label, build] of [
      [
        `matmul ${MATMUL.m}×${MATMUL.k}·${MATMUL.k}×${MATMUL.n}, ${MATMUL.tile}² tiles, ${TABS} tabs`,
        matmulSpec,
      ],
      [`custom, ${CUSTOM.blobs} inputs of 1 MiB, ${CUSTOM.tasks} tasks, ${TABS} tabs`, customSpec],
    ] as const) {
      const peers = await runJob(browser, pageRoot, true, build, log)
      const relayOnly = await runJob(browser, pageRoot, false, build, log)
      rows.push(
        {
          case: label,
          metric: 'relay_egress_bytes_per_task',
          value: Math.round(peers.bytesPerTask),
          unit: 'bytes',
          vs: { name: 'all-from-relay', value: Math.round(relayOnly.bytesPerTask) },
        },
        {
          case: label,
          metric: 'input bytes served by peers',
          value: Number(peers.peerFraction.toFixed(3)),
          unit: 'fraction',
        },
        {
          case: label,
          metric: 'job wall time, submit → completed',
          value: Math.round(peers.elapsedMs),
          unit: 'ms',
          vs: { name: 'all-from-relay', value: Math.round(relayOnly.elapsedMs) },
        },
      )
    }
  } finally {
    await browser.close()
  }
  return rows
}
