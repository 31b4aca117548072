import {
  type InputRef,
  type Lease,
  sha256Hex,
  type WorkRequest,
  type WorkResponse,
} from '@tabswarm/protocol'
import type { TestModel } from '@tabswarm/worker-kernels/test-model'
import type { FetchedInput, InputFetchOptions, InputSource } from '../input-source.ts'
import type { WorkChannel } from '../work-channel.ts'

/**
 * Fakes for driving decoder leases through the contributor loop: leases over a generated
 * test model's tensors, a content-addressed input source that records fetches and kept
 * blobs, and a relay that grants leases in turn. Test-only.
 */

const bytesOf = (view: Float32Array | Int32Array) =>
  new Uint8Array(view.buffer, view.byteOffset, view.byteLength)

async function refOf(
  name: string,
  data: Float32Array | Int32Array,
  shape: number[],
  extra: Partial<InputRef> = {},
): Promise<InputRef> {
  const bytes = bytesOf(data)
  return {
    name,
    dtype: data instanceof Int32Array ? 'int32' : 'float32',
    shape,
    sha256: await sha256Hex(bytes),
    byteLength: bytes.byteLength,
    ...extra,
  }
}

/** Every tensor of the model as weight inputs `w0 … wN`, and their canonical names. */
async function weightInputs(model: TestModel) {
  const tensors = [...model.weights.keys()]
  const refs = await Promise.all(
    tensors.map((name, i) =>
      refOf(`w${i}`, model.weights.get(name)!, [model.weights.get(name)!.length]),
    ),
  )
  return { tensors, refs }
}

/**
 * A content-addressed store of the model's weights and `data` (prompts, activations), by
 * sha-256; `add` serves more.
 */
export function decoderInputs(model: TestModel, ...data: Array<Float32Array | Int32Array>) {
  const byHash = new Map<string, Uint8Array>()
  const add = async (data: Float32Array | Int32Array) =>
    byHash.set(await sha256Hex(bytesOf(data)), bytesOf(data))
  const ready = Promise.all([...model.weights.values(), ...data].map(add))
  const fetches: Array<{ ref: InputRef; options: InputFetchOptions }> = []
  const kept: Array<{ sha256: string; bytes: Uint8Array }> = []
  /** Hashes whose bytes are served wrong (a lying peer). */
  const corrupt = new Set<string>()
  const source: InputSource = {
    async fetch(ref, options): Promise<FetchedInput> {
      fetches.push({ ref, options })
      await ready
      const bytes = byHash.get(ref.sha256)
      if (bytes == null) throw new Error(`not held: ${ref.name} ${ref.sha256}`)
      if (corrupt.has(ref.sha256)) {
        const wrong = new Uint8Array(bytes)
        wrong[0] = (wrong[0] as number) ^ 1
        return { bytes: wrong, from: 'peer' }
      }
      return { bytes, from: 'relay' }
    },
    held: () => kept.map((k) => k.sha256).reverse(),
    keep: (sha256, bytes) => kept.push({ sha256, bytes }),
  }
  return { source, fetches, kept, corrupt, add, ready }
}

/** Terms of lease `n`. */
export const decoderTerms = (n: number) => ({
  leaseId: `lease-${n}`,
  taskId: `task-${n}`,
  expiresInMs: 60_000,
})

/**
 * A `decoder-stage` lease of layers `fromLayer … toLayer − 1` over `input` (tokens for the
 * first stage, else activations) at `start`, with a lazy `prefix` when `start > 0`.
 */
export async function stageLease(
  model: TestModel,
  terms: { leaseId: string; taskId: string; expiresInMs: number },
  step: {
    fromLayer: number
    toLayer: number
    start: number
    input: Float32Array | Int32Array
    prefix?: Float32Array | Int32Array
    sequence?: string
    topLogits?: number
  },
): Promise<{ header: Lease; payload: Uint8Array }> {
  const { config } = model
  const first = step.fromLayer === 0
  const width = first ? 1 : config.hiddenSize
  const rows = step.input.length / width
  const topLogits = step.topLogits ?? 4
  const { tensors, refs } = await weightInputs(model)
  const inputs: InputRef[] = [
    await refOf(first ? 'tokens' : 'x', step.input, first ? [rows] : [rows, width]),
  ]
  if (step.prefix != null)
    inputs.push(
      await refOf('prefix', step.prefix, first ? [step.start] : [step.start, width], {
        lazy: true,
      }),
    )
  inputs.push(...refs)
  const last = step.toLayer === config.layers
  return {
    header: {
      type: 'lease',
      jobId: 'job-1',
      ...terms,
      program: {
        kind: 'decoder-stage',
        config,
        fromLayer: step.fromLayer,
        toLayer: step.toLayer,
        sequence: step.sequence ?? 'seq-1',
        start: step.start,
        rows,
        topLogits,
        tensors,
      },
      inputs,
      outputs: last
        ? [
            { name: 'ids', dtype: 'int32', shape: [topLogits] },
            { name: 'logits', dtype: 'float32', shape: [topLogits] },
          ]
        : [{ name: 'hidden', dtype: 'float32', shape: [rows, config.hiddenSize] }],
    },
    payload: new Uint8Array(),
  }
}

/** A `decoder-generate` lease of `prompts`, greedy unless `sampling` says otherwise. */
export async function generateLease(
  model: TestModel,
  terms: { leaseId: string; taskId: string; expiresInMs: number },
  prompts: Int32Array[],
  maxNewTokens: number,
  topLogits = 4,
): Promise<{ header: Lease; payload: Uint8Array; tokens: Int32Array; lengths: Int32Array }> {
  const tokens = Int32Array.from(prompts.flatMap((p) => [...p]))
  const lengths = Int32Array.from(prompts, (p) => p.length)
  const { tensors, refs } = await weightInputs(model)
  const batch = prompts.length
  return {
    tokens,
    lengths,
    header: {
      type: 'lease',
      jobId: 'job-gen',
      ...terms,
      program: {
        kind: 'decoder-generate',
        config: model.config,
        firstPrompt: 0,
        maxNewTokens,
        sampling: { mode: 'greedy' },
        stop: [],
        topLogits,
        tensors,
      },
      inputs: [
        await refOf('tokens', tokens, [tokens.length]),
        await refOf('lengths', lengths, [batch]),
        ...refs,
      ],
      outputs: [
        { name: 'tokens', dtype: 'int32', shape: [batch, maxNewTokens] },
        { name: 'ids', dtype: 'int32', shape: [batch, maxNewTokens, topLogits] },
        { name: 'logits', dtype: 'float32', shape: [batch, maxNewTokens, topLogits] },
      ],
    },
    payload: new Uint8Array(),
  }
}

/** A relay that grants `leases` in turn, then no work; records requests and results. */
export function leasingRelay(leases: Array<{ header: Lease; payload: Uint8Array }>) {
  const requests: WorkRequest[] = []
  const results: Array<{ request: Extract<WorkRequest, { type: 'result' }>; payload: Uint8Array }> =
    []
  const errors: Array<Extract<WorkRequest, { type: 'task-error' }>> = []
  const channel: WorkChannel = {
    peerId: 'peer-test',
    relay: '/memory/relay',
    async exchange(request, payload) {
      requests.push(request)
      const answer = (header: WorkResponse) => ({ header, payload: new Uint8Array() })
      switch (request.type) {
        case 'hello':
          return answer({ type: 'hello-ack', peerId: 'peer-test' })
        case 'lease-request': {
          const next = leases.shift()
          return next
            ? { header: next.header, payload: next.payload }
            : answer({ type: 'no-work', retryAfterMs: 10 })
        }
        case 'result':
          results.push({ request, payload: new Uint8Array(payload ?? new Uint8Array()) })
          return answer({ type: 'result-ack', leaseId: request.leaseId, outcome: 'accepted' })
        case 'task-error':
          errors.push(request)
          return answer({ type: 'result-ack', leaseId: request.leaseId, outcome: 'accepted' })
        default:
          throw new Error(`unexpected ${request.type}`)
      }
    },
  }
  return { channel, requests, results, errors }
}
