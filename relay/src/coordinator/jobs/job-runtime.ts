import type { CustomJobSpec, JobWaiting, TensorDtype, TensorRef } from '@tabswarm/protocol'
import { tensorByteLength } from '@tabswarm/protocol'
import type { BlobStore } from '../../blobs/blob-store.ts'
import type { StoredJob } from '../../store/coordinator-store.ts'
import type { Contributor, ContributorIdentity } from '../contributors/contributor-registry.ts'
import type { JobEvent, ResultTensor } from '../coordinator-api.ts'
import { CoordinatorError } from '../coordinator-error.ts'
import { createInferenceInputs, type InferenceInputs } from '../inference/inference-inputs.ts'
import { readModelWeights } from '../inference/model-weights.ts'
import type { TaskRequirement } from '../leases/capability-match.ts'
import { columnBand, type MatmulTile, planMatmulTiles, rowBand } from './matmul-tiling.ts'
import { alignedBytes } from './tensor-bytes.ts'

/**
 * The working set of a running job, held in memory beside its durable rows: which tasks
 * wait, who holds them, the replicas that wait for agreement, and the decoded inputs.
 * Rebuilt from the store after a restart (leases and unconfirmed replicas are not kept:
 * their tasks simply go back to the queue).
 */

/** A result that waits for agreeing replicas before it is accepted. */
export interface Replica {
  leaseId: string
  peerId: string
  payee: string
  address?: string
  outputs: ResultTensor[]
  /** A decoder result's signature (base64), stored with it once accepted. */
  signature?: string
  /**
   * A trusted answer taken back for a second opinion (`provisional-results.ts`): its
   * contributor was told `accepted`, not `pending`, so it is owed no verdict.
   */
  reopened?: true
}

/** An accepted task's answer, and who gave it: a canary of it never goes to them. */
export interface KnownAnswer {
  outputs: TensorRef[]
  by: ContributorIdentity[]
  /**
   * `false` after a restart: the store names only the first of the agreeing winners, so
   * the others are not in `by` (see `canTest`).
   */
  complete: boolean
}

export interface TaskRuntime {
  index: number
  /** Opaque, set when the task is first leased (see `taskIdOf`). */
  id: string
  accepted: boolean
  /** In the job's ready queue. */
  queued: boolean
  leases: Set<string>
  replicas: Replica[]
  /**
   * Verification failures of this task: results rejected, and rounds of replicas that
   * reached `maxReplicas` without a credible agreement. `maxTaskFailures` fail the job.
   */
  failures: number
  /** `peer:` and `payee:` keys of contributors whose result for this task was wrong. */
  failedBy: Set<string>
  /**
   * The accepted answer, kept for canaries. Set on acceptance; after a restart read back
   * from the store on first need (`null`: none, or no longer usable).
   */
  answer?: KnownAnswer | null
  /**
   * Contributors that reported a task error (not a fault), distinct in peer id, wallet and
   * address: two fail the job.
   */
  errorReporters?: Array<{ peerId: string; payee: string; address?: string }>
  /**
   * Set while this task's trusted-only answer, taken back before the job settles, waits for
   * a second distinct contributor to agree with it: the vote then needs two agreeing
   * contributors, whatever anyone's credibility (see `provisional-results.ts`).
   */
  confirming?: ContributorIdentity | undefined
}

/** A task accepted on one contributor's credibility alone, not confirmed yet. */
export interface ProvisionalAcceptance {
  taskIndex: number
  taskId: string
  leaseId: string
  peerId: string
  payee: string
  outputs: TensorRef[]
  acceptedAt: number
  seq: number
}

export interface MatmulInputs {
  kind: 'matmul'
  a: Float32Array
  b: Float32Array
  m: number
  k: number
  n: number
  tiles: MatmulTile[]
  /** B's column bands by first column, materialised once each (see `bColumnBand`). */
  bBands: Map<number, Float32Array>
  /** The uploaded blobs of A and B: a lease names A's row bands as ranges of `a`. */
  blobs: { a: string; b: string }
  /**
   * sha-256 of each band a lease names (`a:<row0>`, `b:<col0>`), hashed once per job and
   * registered in the relay's part index then (see `task-inputs.ts`).
   */
  bandHashes: Map<string, string>
}

/** B's column band starting at `col0`, `cols` wide: copied once per band, then cached. */
export function bColumnBand(inputs: MatmulInputs, col0: number, cols: number): Float32Array {
  let band = inputs.bBands.get(col0)
  if (band == null) {
    band = columnBand(inputs.b, inputs.k, inputs.n, col0, cols)
    inputs.bBands.set(col0, band)
  }
  return band
}

/** A tile's operands: A's row band (a view) and B's column band (copied once per band). */
export function tileOperands(inputs: MatmulInputs, index: number) {
  const tile = inputs.tiles[index]!
  const band = bColumnBand(inputs, tile.col0, tile.cols)
  return {
    a: rowBand(inputs.a, inputs.k, tile.row0, tile.rows),
    b: band,
    m: tile.rows,
    k: inputs.k,
    n: tile.cols,
  }
}

export interface CustomInputs {
  kind: 'custom'
  spec: CustomJobSpec
  /** Input bytes by blob hash, loaded once per job. */
  blobs: Map<string, Uint8Array>
}

export interface JobRuntime {
  row: StoredJob
  tasks: TaskRuntime[]
  /** Task indices ready to lease; `head` is the next to look at. */
  ready: number[]
  head: number
  /** Stride-scheduling pass: the job with the smallest pass is served next. */
  pass: number
  listeners: Set<(event: JobEvent) => void>
  inputs: MatmulInputs | CustomInputs | InferenceInputs
  /** What a device needs to run this job's tasks. */
  need: TaskRequirement
  /**
   * Whether a contributor's device meets `need`, worked out once per contributor; weak, so
   * a contributor that leaves (or registers again, as a new object) takes its entry along.
   */
  fits: WeakMap<Contributor, boolean>
  /**
   * Its provisional acceptances by task index: durable as result rows marked provisional,
   * read back at a restart.
   */
  provisional: Map<number, ProvisionalAcceptance>
  /** Who earned pending credit on this job, settled when it ends. */
  payees: Set<string>
  leased: number
  /** Events waiting for their commit, chained so listeners hear them in order. */
  outbox: Promise<void>
  /**
   * What it waits for, as last worked out (`job-watch.ts`): for a view on demand, on the
   * watch's timer while someone listens. Its views carry it.
   */
  waiting?: JobWaiting | undefined
  /** What its listeners were last told it waits for: a change from it is a progress event. */
  waitingTold?: JobWaiting | undefined
}

/**
 * Reads a job's input blobs, checking each holds the bytes its shape and dtype declare (an
 * inference job's model: its safetensors headers against its config, `readModelWeights`).
 */
export function loadInputs(
  row: StoredJob,
  blobs: BlobStore,
  now = 0,
): MatmulInputs | CustomInputs | InferenceInputs {
  const read = (where: string, ref: { blob: string; dtype: TensorDtype; shape: number[] }) => {
    const bytes = blobs.get(ref.blob)
    if (bytes == null)
      throw new CoordinatorError('BLOB_NOT_FOUND', `${where}: no blob ${ref.blob}; upload it first`)
    const expected = tensorByteLength(ref.shape, ref.dtype)
    if (bytes.byteLength !== expected)
      throw new CoordinatorError(
        'INVALID_JOB',
        `${where}: shape ${ref.shape.join('x')} ${ref.dtype} needs ${expected} bytes, blob ${ref.blob.slice(0, 12)}… has ${bytes.byteLength}`,
      )
    // 8: every dtype's typed array can view it.
    return alignedBytes(bytes, 8)
  }
  const spec = row.spec
  if (spec.kernel === 'matmul') {
    const [m, k] = spec.inputs.a.shape as [number, number]
    const n = spec.inputs.b.shape[1] as number
    const a = read('inputs.a', spec.inputs.a)
    const b = read('inputs.b', spec.inputs.b)
    return {
      kind: 'matmul',
      a: new Float32Array(a.buffer, a.byteOffset, m * k),
      b: new Float32Array(b.buffer, b.byteOffset, k * n),
      m,
      k,
      n,
      tiles: planMatmulTiles(m, n, row.tileRows ?? 128, row.tileCols ?? 128),
      bBands: new Map(),
      blobs: { a: spec.inputs.a.blob, b: spec.inputs.b.blob },
      bandHashes: new Map(),
    }
  }
  if (spec.kernel === 'inference')
    return createInferenceInputs(spec, readModelWeights(spec.model, blobs), now)
  const loaded = new Map<string, Uint8Array>()
  spec.tasks.forEach((task, i) => {
    task.inputs.forEach((ref, j) => {
      if (!loaded.has(ref.blob)) loaded.set(ref.blob, read(`tasks.${i}.inputs.${j}`, ref))
      else read(`tasks.${i}.inputs.${j}`, ref)
    })
  })
  return { kind: 'custom', spec, blobs: loaded }
}

export function newTask(index: number, accepted: boolean): TaskRuntime {
  return {
    index,
    id: '',
    accepted,
    queued: false,
    leases: new Set(),
    replicas: [],
    failures: 0,
    failedBy: new Set(),
  }
}
