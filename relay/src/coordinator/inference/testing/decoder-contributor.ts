import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  alignedViewAs,
  type Capabilities,
  packBuffers,
  resultSigningBytes,
  type TensorDtype,
} from '@tabswarm/protocol'
import {
  createReferenceDecoderStage,
  type DecoderStage,
  generateBatch,
  type StageKvCache,
  type StageWeight,
} from '@tabswarm/worker-kernels'
import { sha256HexSync } from '../../../blobs/sha256-hex.ts'
import type { Coordinator } from '../../coordinator.ts'
import type { LeaseGrant, ResultOutcome, ResultTensor } from '../../coordinator-api.ts'

/** A device that runs the decoder executor (both programs) and states no limits. */
export const decoderCaps: Capabilities = {
  adapter: { vendor: 'test', architecture: 'test', device: '', description: '' },
  features: [],
  limits: {},
  kernels: ['decoder-stage', 'decoder-generate'],
  agent: 'test',
}

/** How a fake contributor misbehaves, if it does. */
export type Misbehaviour =
  | 'none'
  /** Adds noise to every activation it returns (a saboteur stage). */
  | 'noise'
  /** Sends no signature. */
  | 'unsigned'
  /** Signs with a key that is not its peer id's. */
  | 'forged'

/**
 * A contributor in the coordinator tests: an Ed25519 peer id, the CPU reference stage in
 * place of a GPU, a KV cache per sequence and stage that it keeps between steps (and
 * rebuilds from the lease's lazy `prefix` when it has none), and signed results.
 */
export interface DecoderContributor {
  readonly peerId: string
  /** Leases one task and runs it; undefined when there was none. */
  step(): Promise<{ grant: LeaseGrant; outcome: ResultOutcome } | undefined>
  /** Prefixes it replayed (its KV cache missed). */
  readonly replays: number
  misbehave: Misbehaviour
}

export async function createDecoderContributor(
  coordinator: Coordinator,
  misbehave: Misbehaviour = 'none',
): Promise<DecoderContributor> {
  const key = await generateKeyPair('Ed25519')
  const other = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(key).toString()
  coordinator.registerContributor(peerId, decoderCaps)
  const stages = new Map<string, DecoderStage>()
  const caches = new Map<string, StageKvCache>()
  let replays = 0
  const read = (sha256: string): Uint8Array => {
    const bytes = coordinator.inputBytes(sha256)
    if (bytes == null) throw new Error(`input ${sha256} is not served`)
    return bytes
  }
  const stageOf = (grant: LeaseGrant, fromLayer: number, toLayer: number): DecoderStage => {
    const program = grant.program as Extract<LeaseGrant['program'], { tensors: string[] }>
    const id = `${grant.jobId}/${fromLayer}/${toLayer}`
    let stage = stages.get(id)
    if (stage == null) {
      const weights = new Map<string, StageWeight>()
      program.tensors.forEach((name, i) => {
        const ref = grant.inputs.find((input) => input.name === `w${i}`)!
        const bytes = read(ref.sha256)
        weights.set(
          name,
          ref.dtype === 'float16'
            ? { dtype: 'float16', data: Uint16Array.from(alignedViewAs('float16', bytes)) }
            : { dtype: 'float32', data: Float32Array.from(alignedViewAs('float32', bytes)) },
        )
      })
      stage = createReferenceDecoderStage({ config: program.config, fromLayer, toLayer, weights })
      stages.set(id, stage)
    }
    return stage
  }
  const input = (grant: LeaseGrant, name: string) => grant.inputs.find((i) => i.name === name)

  async function run(grant: LeaseGrant): Promise<ResultTensor[]> {
    const program = grant.program
    if (program.kind === 'decoder-generate') {
      const stage = stageOf(grant, 0, program.config.layers)
      const tokens = alignedViewAs('int32', read(input(grant, 'tokens')!.sha256))
      const lengths = alignedViewAs('int32', read(input(grant, 'lengths')!.sha256))
      const prompts: Int32Array[] = []
      let at = 0
      for (const length of lengths) {
        prompts.push(tokens.slice(at, at + length))
        at += length
      }
      const out = await generateBatch(stage, {
        prompts,
        maxNewTokens: program.maxNewTokens,
        sampling: program.sampling,
        stop: program.stop,
        topLogits: program.topLogits,
        firstPrompt: program.firstPrompt,
      })
      if (contributor.misbehave === 'noise')
        for (let i = 0; i < out.logits.length; i++) out.logits[i]! += 0.5
      return [
        tensor(out.tokens, 'int32', grant.outputs[0]!.shape),
        tensor(out.ids, 'int32', grant.outputs[1]!.shape),
        tensor(out.logits, 'float32', grant.outputs[2]!.shape),
      ]
    }
    if (program.kind !== 'decoder-stage') throw new Error(`not a decoder lease: ${program.kind}`)
    const stage = stageOf(grant, program.fromLayer, program.toLayer)
    const cacheId = `${grant.jobId}/${program.sequence}/${program.fromLayer}`
    let cache = caches.get(cacheId)
    const first = program.fromLayer === 0
    const feed = (bytes: Uint8Array) =>
      first
        ? { tokens: Int32Array.from(alignedViewAs('int32', bytes)) }
        : { x: Float32Array.from(alignedViewAs('float32', bytes)) }
    if (cache == null || cache.length < program.start) {
      // No cache of this sequence here (another tab ran its earlier steps): replay the prefix.
      cache = stage.createCache()
      if (program.start > 0) {
        replays++
        await stage.forward(feed(read(input(grant, 'prefix')!.sha256)), cache)
      }
      caches.set(cacheId, cache)
    }
    if (cache.length > program.start) cache.truncate(program.start)
    const ref = input(grant, first ? 'tokens' : 'x')!
    const hidden = await stage.forward(feed(read(ref.sha256)), cache)
    if (program.toLayer < program.config.layers) {
      if (contributor.misbehave === 'noise')
        for (let i = 0; i < hidden.length; i++) hidden[i]! += 0.05
      return [tensor(hidden, 'float32', grant.outputs[0]!.shape)]
    }
    const last = hidden.subarray(hidden.length - program.config.hiddenSize)
    const top = await stage.topLogits(last, program.topLogits)
    if (contributor.misbehave === 'noise')
      for (let i = 0; i < top.logits.length; i++) top.logits[i]! += 0.5
    return [
      tensor(top.ids, 'int32', grant.outputs[0]!.shape),
      tensor(top.logits, 'float32', grant.outputs[1]!.shape),
    ]
  }

  async function sign(signer: PrivateKey, taskId: string, sha256: string) {
    const signature = await signer.sign(resultSigningBytes(taskId, sha256))
    return Buffer.from(signature).toString('base64')
  }

  const contributor: DecoderContributor = {
    peerId,
    get replays() {
      return replays
    },
    misbehave,
    async step() {
      const grant = coordinator.lease(peerId)
      if (grant == null) return undefined
      const outputs = await run(grant)
      const { payload } = packBuffers(
        outputs.map((o, i) => ({
          name: grant.outputs[i]!.name,
          dtype: o.dtype,
          shape: [...o.shape],
          bytes: o.bytes,
        })),
      )
      const sha256 = sha256HexSync(payload)
      const signer = contributor.misbehave === 'forged' ? other : key
      const proof =
        contributor.misbehave === 'unsigned'
          ? { sha256 }
          : { sha256, signature: await sign(signer, grant.taskId, sha256) }
      return { grant, outcome: coordinator.submitResult(peerId, grant.leaseId, outputs, proof) }
    },
  }
  return contributor
}

function tensor(
  data: Float32Array | Int32Array,
  dtype: TensorDtype,
  shape: readonly number[],
): ResultTensor {
  return { dtype, shape, bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }
}
