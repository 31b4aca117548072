import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type InferenceJobSpec,
  type JobSpec,
  LeaseSchema,
  type SamplingSpec,
} from '@tabswarm/protocol'
import {
  createDecoderReference,
  generateReference,
  promptSampling,
  type SamplingOptions,
} from '@tabswarm/worker-kernels'
import { createTestModel, type TestModel } from '@tabswarm/worker-kernels/test-model'
import { afterEach, describe, expect, it } from 'vitest'
import { type BlobStore, createMemoryBlobStore } from '../../blobs/blob-store.ts'
import { createSqliteStore } from '../../store/sqlite-store.ts'
import { leaseMessage } from '../../swarm/lease-message.ts'
import type { Coordinator } from '../coordinator.ts'
import type { JobEvent } from '../coordinator-api.ts'
import { dirs, make, removeDirs } from '../testing/coordinator-fixture.ts'
import { readModelWeights } from './model-weights.ts'
import { stagesForMemory } from './stage-plan.ts'
import {
  createDecoderContributor,
  type DecoderContributor,
  decoderCaps,
} from './testing/decoder-contributor.ts'

afterEach(removeDirs)

const model = createTestModel({ family: 'llama', layers: 4, maxPositions: 32 })
const reference = createDecoderReference(model.config, (n) => model.weights.get(n))
const prompts = [
  [5, 17, 42, 9],
  [3, 8],
  [100, 2, 77],
]

function inferenceSpec(
  blobs: BlobStore,
  extra: Partial<InferenceJobSpec> & Pick<InferenceJobSpec, 'mode'>,
  m: TestModel = model,
): JobSpec {
  return {
    kernel: 'inference',
    model: { name: 'test', config: m.config, files: [{ blob: blobs.put(m.safetensors).hash }] },
    prompts,
    maxNewTokens: 5,
    stop: [],
    verification: { replication: 1, spotCheck: 1 },
    ...extra,
  }
}

/** What the CPU reference generates for prompt `i` of the job. */
function expected(i: number, maxTokens: number, sampling: SamplingSpec = { mode: 'greedy' }) {
  return [
    ...generateReference(reference, prompts[i]!, {
      maxTokens,
      sampling: samplingOptions(promptSampling(sampling, i)),
    }),
  ]
}

/** The reference sampler's options for a spec's sampling (no `undefined` fields). */
function samplingOptions(s: SamplingSpec): SamplingOptions {
  if (s.mode === 'greedy') return s
  return {
    mode: 'sample',
    seed: s.seed,
    ...(s.temperature != null ? { temperature: s.temperature } : {}),
    ...(s.topK != null ? { topK: s.topK } : {}),
    ...(s.topP != null ? { topP: s.topP } : {}),
  }
}

/** Runs contributors in turn until the job ends (or nobody gets work many times over). */
async function drive(c: Coordinator, jobId: string, peers: DecoderContributor[], maxIdle = 20) {
  let idle = 0
  for (;;) {
    const job = await c.getJob(jobId)
    if (job.status !== 'running') return job
    let worked = false
    for (const peer of peers) if ((await peer.step()) != null) worked = true
    idle = worked ? 0 : idle + 1
    if (idle > maxIdle) throw new Error(`job ${jobId} stalled: ${JSON.stringify(job.tasks)}`)
  }
}

describe('inference jobs', () => {
  it('batch mode: prompts in batches across two contributors give the reference tokens', async () => {
    const blobs = createMemoryBlobStore()
    const store = createSqliteStore({ path: ':memory:' })
    const c = make({ blobs, store })
    const peers = [await createDecoderContributor(c), await createDecoderContributor(c)]
    const job = await c.submit(inferenceSpec(blobs, { mode: 'batch', batchSize: 2 }), {
      account: 'r',
    })
    expect(job.tasks.total).toBe(2)
    const events: JobEvent[] = []
    c.subscribe(job.id, (e) => events.push(e))
    expect((await drive(c, job.id, peers)).status).toBe('completed')
    const output = await c.inferenceOutput(job.id)
    expect(output.sequences.map((s) => s.tokens)).toEqual(prompts.map((_, i) => expected(i, 5)))
    expect(output.sequences.every((s) => s.finish === 'length')).toBe(true)
    // Each accepted result keeps its contributor's signature: attributable after the fact.
    expect(store.resultsOfTask(job.id, 0)[0]?.signature).toMatch(/^[A-Za-z0-9+/]{86}==$/)
    await c.durable()
    await new Promise((r) => setTimeout(r, 0))
    const told = events.filter((e) => e.type === 'tokens')
    expect(told.map((e) => e.type === 'tokens' && e.tokens.sequence).sort()).toEqual([0, 1, 2])
    c.close()
  })

  it('pipeline mode: three stages give the greedy reference tokens, and tokens are told as chosen', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs, stageHoldMs: 0 })
    const peers = await Promise.all([0, 1, 2].map(() => createDecoderContributor(c)))
    const job = await c.submit(inferenceSpec(blobs, { mode: 'pipeline', stages: 3 }), {
      account: 'r',
    })
    expect(job.tasks.total).toBe(3 * 5 * 3)
    const events: JobEvent[] = []
    c.subscribe(job.id, (e) => events.push(e))
    const first = c.lease(peers[0]!.peerId)!
    expect(first.program).toMatchObject({ kind: 'decoder-stage', fromLayer: 0, start: 0 })
    expect(first.inputs.map((i) => i.name).slice(0, 2)).toEqual(['tokens', 'w0'])
    expect(first.inputs.every((i) => i.name === 'tokens' || i.range != null)).toBe(true)
    c.releaseLease(peers[0]!.peerId, first.leaseId)
    expect((await peers[0]!.step())?.outcome.outcome).toBe('accepted')
    // Stage 1 reads stage 0's accepted activations, from the tab that made them first.
    const second = c.lease(peers[1]!.peerId)!
    const boundary = first.program.kind === 'decoder-stage' ? first.program.toLayer : -1
    expect(second.program).toMatchObject({ kind: 'decoder-stage', fromLayer: boundary, start: 0 })
    const x = second.inputs.find((i) => i.name === 'x')
    expect(x?.providers?.[0]).toBe(peers[0]!.peerId)
    expect(c.inputBytes(x!.sha256)?.byteLength).toBe(4 * 64 * 4)
    // What goes on the wire passes the contract's schema.
    expect(LeaseSchema.parse(leaseMessage(second).lease).program.kind).toBe('decoder-stage')
    c.releaseLease(peers[1]!.peerId, second.leaseId)
    const done = await drive(c, job.id, peers)
    expect(done.status).toBe('completed')
    expect(done.tasks.accepted).toBe(45)
    const output = await c.inferenceOutput(job.id)
    expect(output.sequences.map((s) => s.tokens)).toEqual(prompts.map((_, i) => expected(i, 5)))
    await new Promise((r) => setTimeout(r, 0))
    const tokens = events.flatMap((e) => (e.type === 'tokens' ? [e.tokens] : []))
    const seq0 = tokens.filter((t) => t.sequence === 0)
    expect(seq0.flatMap((t) => t.tokens)).toEqual(expected(0, 5))
    expect(seq0.at(-1)?.finish).toBe('length')
    c.close()
  })

  it('a sequence that stops early closes its remaining tasks, unpaid, and the job completes', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs, stageHoldMs: 0 })
    const peers = await Promise.all([0, 1].map(() => createDecoderContributor(c)))
    const greedy = expected(0, 5)
    const stop = [greedy[2]!]
    const job = await c.submit(
      inferenceSpec(blobs, { mode: 'pipeline', stages: 2, prompts: [prompts[0]!], stop }),
      { account: 'r' },
    )
    const running = await c.jobDetail(job.id)
    expect(running.tasks).toMatchObject({ total: 10, queued: 1, blocked: 9 })
    expect(running.job.waiting?.message).toMatch(/9 more tasks wait for the step before them/)
    const done = await drive(c, job.id, peers)
    expect(done.status).toBe('completed')
    const want = [...generateReference(reference, prompts[0]!, { maxTokens: 5, stop })]
    expect(want.length).toBeLessThan(5)
    const output = await c.inferenceOutput(job.id)
    expect(output.sequences[0]).toEqual({ index: 0, tokens: want, finish: 'stop' })
    const ran = 2 * (want.length + 1)
    expect(done.tasks).toMatchObject({ total: 10, accepted: ran, closed: 10 - ran })
    expect((await c.jobDetail(job.id)).tasks).toMatchObject({ accepted: ran, closed: 10 - ran })
    // The closed tasks' share of the escrow comes back.
    expect(BigInt(done.credits.refunded)).toBeGreaterThan(0n)
  })

  it('pipeline mode: seeded top-k sampling gives the reference sampler tokens', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs, stageHoldMs: 0 })
    const peers = await Promise.all([0, 1].map(() => createDecoderContributor(c)))
    const sampling: SamplingSpec = { mode: 'sample', seed: 7, topK: 8, temperature: 0.9 }
    const job = await c.submit(
      inferenceSpec(blobs, { mode: 'pipeline', stages: 2, sampling, maxNewTokens: 4 }),
      { account: 'r' },
    )
    expect((await drive(c, job.id, peers)).status).toBe('completed')
    const output = await c.inferenceOutput(job.id)
    expect(output.sequences.map((s) => s.tokens)).toEqual(
      prompts.map((_, i) => expected(i, 4, sampling)),
    )
  })

  it('a stage holder that leaves mid-generation: its stage is reassigned, the prefix replayed, the tokens the same', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs, stageHoldMs: 1_000_000 })
    const a = await createDecoderContributor(c)
    const b = await createDecoderContributor(c)
    const job = await c.submit(
      inferenceSpec(blobs, { mode: 'pipeline', stages: 2, prompts: [prompts[0]!] }),
      { account: 'r' },
    )
    // Before any stage is held, both could take one: their requests wait rather than poll.
    expect(c.retryAfterMs(a.peerId)).toBe(20)
    expect(c.retryAfterMs(b.peerId)).toBe(20)
    // Spread: `a` takes stage 0 and is held off stage 1 while `b`, holding no stage, is
    // online; then each keeps its own stage (affinity).
    expect(await a.step()).toBeDefined()
    expect(await a.step()).toBeUndefined()
    expect(await b.step()).toBeDefined()
    expect(await b.step()).toBeUndefined()
    expect(await a.step()).toBeDefined()
    expect(await b.step()).toBeDefined()
    expect(c.retryAfterMs(a.peerId)).toBe(20)
    expect(c.retryAfterMs(b.peerId)).toBe(20)
    c.contributorLeft(a.peerId)
    // Step 2 starts at position 5 on a tab without the cache: the lease names a lazy prefix.
    const taken = c.lease(b.peerId)!
    expect(taken.program).toMatchObject({ start: 5, rows: 1 })
    expect(taken.inputs.find((i) => i.name === 'prefix')).toMatchObject({
      lazy: true,
      dtype: 'int32',
      shape: [5],
    })
    c.releaseLease(b.peerId, taken.leaseId)
    expect((await drive(c, job.id, [b])).status).toBe('completed')
    expect(b.replays).toBeGreaterThan(0)
    const output = await c.inferenceOutput(job.id)
    expect(output.sequences[0]?.tokens).toEqual(expected(0, 5))
  })

  it('a saboteur stage is rejected, unpaid, and its task recomputed by an honest contributor', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs, stageHoldMs: 0 })
    const saboteur = await createDecoderContributor(c, 'noise')
    const honest = await createDecoderContributor(c)
    const job = await c.submit(
      inferenceSpec(blobs, {
        mode: 'pipeline',
        stages: 2,
        prompts: [prompts[1]!],
        maxNewTokens: 3,
      }),
      { account: 'r' },
    )
    const bad = await saboteur.step()
    expect(bad?.outcome.outcome).toBe('rejected')
    expect(bad?.outcome.reason).toMatch(/recomputed on the relay: hidden row \d+ off by/)
    const done = await drive(c, job.id, [saboteur, honest])
    expect(done.status).toBe('completed')
    expect(done.tasks.rejectedResults).toBeGreaterThanOrEqual(1)
    expect((await c.account(`peer:${saboteur.peerId}`)).earned).toBe(0n)
    expect((await c.account(`peer:${honest.peerId}`)).earned).toBeGreaterThan(0n)
    const output = await c.inferenceOutput(job.id)
    expect(output.sequences[0]?.tokens).toEqual([
      ...generateReference(reference, prompts[1]!, { maxTokens: 3 }),
    ])
  })

  it('replicas compared within tolerance: a noisy replica is outvoted by the relay recomputation', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs, stageHoldMs: 0 })
    const saboteur = await createDecoderContributor(c, 'noise')
    const honest = await createDecoderContributor(c)
    const job = await c.submit(
      inferenceSpec(blobs, {
        mode: 'batch',
        prompts: [prompts[0]!],
        maxNewTokens: 3,
        verification: { replication: 2, spotCheck: 0 },
      }),
      { account: 'r' },
    )
    expect((await saboteur.step())?.outcome.outcome).toBe('pending')
    const decided = await honest.step()
    expect(decided?.outcome.outcome).toBe('accepted')
    expect((await c.getJob(job.id)).status).toBe('completed')
    expect((await c.account(`peer:${saboteur.peerId}`)).earned).toBe(0n)
    expect((await c.inferenceOutput(job.id)).sequences[0]?.tokens).toEqual(expected(0, 3))
  })

  it('honest replicas agree within tolerance and are accepted by replication', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs, stageHoldMs: 0 })
    const peers = [await createDecoderContributor(c), await createDecoderContributor(c)]
    const job = await c.submit(
      inferenceSpec(blobs, {
        mode: 'pipeline',
        stages: 2,
        prompts: [prompts[2]!],
        maxNewTokens: 2,
        verification: { replication: 2, spotCheck: 0 },
      }),
      { account: 'r' },
    )
    expect((await drive(c, job.id, peers)).status).toBe('completed')
    expect((await c.jobDetail(job.id)).verification.agreed).toBeGreaterThan(0)
    expect((await c.inferenceOutput(job.id)).sequences[0]?.tokens).toEqual(expected(2, 2))
  })

  it('an unsigned or forged result is rejected and unpaid', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs })
    const unsigned = await createDecoderContributor(c, 'unsigned')
    const forged = await createDecoderContributor(c, 'forged')
    await c.submit(inferenceSpec(blobs, { mode: 'batch', prompts: [prompts[0]!] }), {
      account: 'r',
    })
    const a = await unsigned.step()
    expect(a?.outcome).toMatchObject({ outcome: 'rejected', reason: /must be signed/ })
    const b = await forged.step()
    expect(b?.outcome).toMatchObject({ outcome: 'rejected', reason: /does not verify/ })
    expect((await c.account(`peer:${forged.peerId}`)).earned).toBe(0n)
  })

  it('quotes by useful flops and splits a pipeline without stages to fit the memory', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs, inferenceMemoryBytes: 500_000 })
    const spec = inferenceSpec(blobs, { mode: 'pipeline' }) as InferenceJobSpec
    const weights = readModelWeights(spec.model, blobs)
    const stages = stagesForMemory(weights, 500_000, 4).length
    expect(stages).toBeGreaterThan(1)
    const positions = prompts.reduce((n, p) => n + p.length + 5 - 1, 0)
    const quote = await c.quote(spec)
    expect(quote).toMatchObject({
      tasks: 3 * 5 * stages,
      flops: 2 * weights.parameters * positions,
    })
    const job = await c.submit(spec, { account: 'r' })
    expect(job.tasks.total).toBe(3 * 5 * stages)
  })

  it('leases decoder tasks only to devices that run the decoder and hold a stage', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs })
    c.registerContributor('matmul-only', { ...decoderCaps, kernels: ['matmul'] })
    c.registerContributor('small', { ...decoderCaps, memoryCapBytes: 100_000 })
    const job = await c.submit(inferenceSpec(blobs, { mode: 'pipeline', stages: 2 }), {
      account: 'r',
    })
    expect(c.lease('matmul-only')).toBeUndefined()
    expect(c.lease('small')).toBeUndefined()
    // Nor are their lease requests held open for the pipeline's stages.
    expect(c.retryAfterMs('matmul-only')).toBeUndefined()
    expect(c.retryAfterMs('small')).toBeUndefined()
    expect((await c.getJob(job.id)).waiting?.reason).toBe('no-capable-contributors')
  })

  it('refuses at submit a BF16 model and one that does not match its config, naming the tensor', async () => {
    const blobs = createMemoryBlobStore()
    const c = make({ blobs })
    // BF16 has f16's size: an f16 file with one tensor relabelled is a valid BF16 file.
    const f16 = createTestModel({ family: 'llama', layers: 4, maxPositions: 32, dtype: 'float16' })
    const bf16 = withDtype(f16.safetensors, 'model.layers.1.mlp.up_proj.weight', 'BF16')
    const spec = inferenceSpec(blobs, { mode: 'batch' }) as InferenceJobSpec
    await expect(
      c.submit(
        { ...spec, model: { ...spec.model, files: [{ blob: blobs.put(bf16).hash }] } },
        {
          account: 'r',
        },
      ),
    ).rejects.toThrow(/model.layers.1.mlp.up_proj.weight is BF16.*convert the model to f16/)
    const smaller = createTestModel({ family: 'llama', layers: 3, maxPositions: 32 })
    await expect(
      c.submit({ ...spec, model: { ...spec.model, config: smaller.config } }, { account: 'r' }),
    ).rejects.toThrow(/model.layers.3.\S+/)
  })

  it('a restarted relay resumes a pipeline from its last chosen token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tabswarm-inference-'))
    dirs.push(dir)
    const path = join(dir, 'relay.db')
    const blobs = createMemoryBlobStore()
    const first = make({ blobs, store: createSqliteStore({ path }), stageHoldMs: 0 })
    const peer = await createDecoderContributor(first)
    const job = await first.submit(
      inferenceSpec(blobs, { mode: 'pipeline', stages: 2, prompts: [prompts[0]!] }),
      { account: 'r' },
    )
    for (let i = 0; i < 5; i++) expect((await peer.step())?.outcome.outcome).toBe('accepted')
    await first.durable()
    first.close()
    const second = make({ blobs, store: createSqliteStore({ path }), stageHoldMs: 0 })
    const again = await createDecoderContributor(second)
    expect((await second.getJob(job.id)).tasks.accepted).toBe(5)
    // A listener that comes late hears the tokens chosen so far, from position 0.
    const heard: JobEvent[] = []
    second.subscribe(job.id, (e) => heard.push(e))
    await second.durable()
    await new Promise((r) => setTimeout(r, 0))
    expect(heard.flatMap((e) => (e.type === 'tokens' ? [e.tokens] : []))).toEqual([
      { type: 'tokens', sequence: 0, from: 0, tokens: expected(0, 5).slice(0, 2) },
    ])
    expect((await drive(second, job.id, [again])).status).toBe('completed')
    expect(again.replays).toBeGreaterThan(0)
    expect((await second.inferenceOutput(job.id)).sequences[0]?.tokens).toEqual(expected(0, 5))
    second.close()
  })
})

/** A copy of a safetensors file with one tensor's dtype renamed (its bytes unchanged). */
function withDtype(file: Uint8Array, name: string, dtype: string): Uint8Array {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength)
  const length = Number(view.getBigUint64(0, true))
  const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + length)))
  header[name].dtype = dtype
  let text = JSON.stringify(header)
  text += ' '.repeat((8 - ((text.length + 8) % 8)) % 8)
  const bytes = new TextEncoder().encode(text)
  const out = new Uint8Array(8 + bytes.length + file.length - 8 - length)
  new DataView(out.buffer).setBigUint64(0, BigInt(bytes.length), true)
  out.set(bytes, 8)
  out.set(file.subarray(8 + length), 8 + bytes.length)
  return out
}
