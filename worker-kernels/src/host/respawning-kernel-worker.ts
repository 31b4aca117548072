import type { TabswarmError } from '@tabswarm/protocol'
import { KernelAbortedError, KernelWorkersWedgedError } from '../errors.ts'
import type { KernelRequest, KernelResultOf } from '../kernels/kernel-request.ts'
import type { HostInfo, KernelRunOptions } from './kernel-types.ts'
import {
  createKernelWorkerClient,
  type KernelWorkerClient,
  type KernelWorkerClientOptions,
  type KernelWorkerRemote,
} from './kernel-worker-client.ts'

/**
 * How many replaced workers a page may leave running (`retire: 'abandon'`) before it starts
 * no more. Each keeps running the kernel it was replaced for, for as long as the page lives:
 * on a software adapter (SwiftShader) that is a CPU core of the browser's GPU process each,
 * which nothing reclaims (a hardware GPU's watchdog would reset such a kernel). Two is enough
 * to ride out one hostile kernel and still notice a second, without taking a 2-core
 * machine's every core.
 */
export const DEFAULT_MAX_ABANDONED_WORKERS = 2

/** One started kernel worker: what `spawn` returns. */
export type SpawnedWorker = {
  /** `wrap<KernelWorkerApi>(worker)` of the new worker. */
  remote: KernelWorkerRemote
  /** Stops the worker for good (a dedicated Worker's `terminate()`). */
  terminate(): void
}

/** Options of `createRespawningKernelWorker`. */
export type RespawningKernelWorkerOptions = Omit<KernelWorkerClientOptions, 'remote'> & {
  /** Starts a fresh kernel worker; called once now and once after each respawn. */
  spawn: () => SpawnedWorker
  /**
   * Told each time the worker is replaced, with why. An exception it
   * throws is caught.
   */
  onRespawn?: (reason: string) => void
  /**
   * What becomes of a replaced worker. `'abandon'` keeps it, unterminated, for the life of
   * the page: terminating it destroys its device, and Chromium's GPU process then waits
   * for the endless dispatch to finish before it serves any device again (measured on
   * SwiftShader: the next worker's 4 ms matmul did not finish in 90 s; with the old worker
   * kept, it ran in under 3 s). `'terminate'` ends it, for browsers whose GPU watchdog
   * resets a hung GPU.
   * @default 'abandon'
   */
  retire?: 'abandon' | 'terminate'
  /**
   * The most replaced workers left running (see `retire: 'abandon'`, and the list
   * `abandoned`). When a replacement would take the count to this, the worker is abandoned
   * but none is started in its place: `onWedged` is told, and every call from then on fails
   * with `KernelWorkersWedgedError`. Not applied with `retire: 'terminate'`. An integer
   * of at least 1.
   * @default DEFAULT_MAX_ABANDONED_WORKERS (2)
   */
  maxAbandoned?: number
  /**
   * Where replaced workers are kept (referenced, so garbage collection leaves their devices
   * be) and counted against `maxAbandoned`. A page that creates one respawning worker per
   * run (Stop, then Start) passes the same list to each, so the cap holds for the page:
   * abandoned workers run on for the page's life, whichever run left them. A list already
   * at the cap makes a respawning worker that starts none and fails every call.
   * @default a list of this respawning worker's own
   */
  abandoned?: SpawnedWorker[]
  /**
   * Told once, when `maxAbandoned` is reached, with the error every call now fails with:
   * the time to stop asking for kernels and say why. An exception it throws is caught.
   */
  onWedged?: (error: KernelWorkersWedgedError) => void
}

/** A kernel worker that is replaced when a call runs out of time or is given up on. */
export type RespawningKernelWorker = {
  /**
   * The `KernelRunner` to call: calls go to the current worker, the same client before and
   * after a respawn.
   */
  client: KernelWorkerClient
  /** How many times the worker was replaced. */
  readonly respawns: number
  /** Set once `maxAbandoned` is reached: no worker runs calls any more, and this says why. */
  readonly wedged: KernelWorkersWedgedError | undefined
  /**
   * Stop the current worker for good; pending and later calls reject with
   * `KernelAbortedError`. Abandoned workers are left alone (see `retire`).
   */
  terminate(): void
}

/**
 * Whether a failed call may have left a dispatch running that would hold up every later
 * call on the device. Only timeouts: a call its caller cancelled (a lease that ended, a
 * Stop) was most likely innocent, and if it was not, the next call times out and the
 * worker is replaced then.
 */
function leavesWorkRunning(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'KERNEL_TIMEOUT'
}

/** Every call's error once `count` workers are left running kernels that never finished. */
function wedgedError(count: number): KernelWorkersWedgedError {
  return new KernelWorkersWedgedError(
    `${count} kernel worker${count === 1 ? ' was' : 's were'} left running kernels that did not finish and could not be stopped; no more are started.`,
    {
      details:
        "Each keeps part of the GPU busy for as long as the page lives (a hardware GPU's watchdog would reset such a kernel; a software adapter's never does). Reload the page to free them and run kernels again.",
    },
  )
}

/**
 * A kernel worker for a page that a hostile kernel cannot wedge. WebGPU cannot cancel a
 * dispatch: after a call times out (an endless loop, a 65535×65535 grid) the worker's
 * device is still busy with it, and every later call would queue behind it and time out
 * too. So a call that ran past its deadline (in the worker, or by the page's clock)
 * retires the worker (see `retire`) and starts another; its own error is thrown
 * unchanged, and the next call runs on the new worker's fresh device. Abandoned workers are
 * capped (`maxAbandoned`): past it, nothing more runs and `onWedged` says so.
 *
 * @example
 * const kernels = createRespawningKernelWorker({
 *   spawn: () => {
 *     const worker = new Worker(url, { type: 'module' })
 *     return { remote: wrap(worker), terminate: () => worker.terminate() }
 *   },
 * })
 * await kernels.client.init()
 */
export function createRespawningKernelWorker(
  options: RespawningKernelWorkerOptions,
): RespawningKernelWorker {
  const {
    spawn,
    onRespawn,
    onWedged,
    retire = 'abandon',
    maxAbandoned = DEFAULT_MAX_ABANDONED_WORKERS,
    abandoned = [],
    ...clientOptions
  } = options
  if (!(Number.isInteger(maxAbandoned) && maxAbandoned >= 1)) {
    throw new RangeError(`maxAbandoned must be an integer of at least 1, got ${maxAbandoned}.`)
  }
  let terminated: TabswarmError | undefined
  let wedged: KernelWorkersWedgedError | undefined
  let respawns = 0

  type Started = { worker: SpawnedWorker; client: KernelWorkerClient }
  const start = (): Started => {
    const worker = spawn()
    return { worker, client: createKernelWorkerClient({ ...clientOptions, remote: worker.remote }) }
  }
  const capReached = () => retire === 'abandon' && abandoned.length >= maxAbandoned
  /** The worker calls go to; none once wedged (then `terminated` says why). */
  let current: Started | undefined
  if (capReached()) {
    // Earlier runs on this page left as many workers running as it may: start no other.
    wedged = wedgedError(abandoned.length)
    terminated = wedged
  } else {
    current = start()
  }
  /** Whether `init()` was asked for: a replacement then registers its device-loss listener too. */
  let initialised = false

  const respawn = (from: Started, reason: string): void => {
    // Two calls that fail together replace the worker once.
    if (terminated || current !== from) return
    if (retire === 'terminate') from.worker.terminate()
    else abandoned.push(from.worker)
    if (capReached()) {
      // Another worker would be one more core lost for the page's life: stop here, and say so.
      const err = wedgedError(abandoned.length)
      wedged = err
      terminated = err
      current = undefined
      from.client.close(err)
      try {
        onWedged?.(err)
      } catch (thrown) {
        ;(globalThis as { reportError?: (err: unknown) => void }).reportError?.(thrown)
      }
      return
    }
    from.client.close(new KernelAbortedError(`The kernel worker was replaced: ${reason}`))
    respawns++
    current = start()
    // Acquire the new device now, off any call's clock; failures surface on the next call.
    if (initialised) current.client.init().catch(() => {})
    try {
      onRespawn?.(reason)
    } catch (err) {
      ;(globalThis as { reportError?: (err: unknown) => void }).reportError?.(err)
    }
  }

  const guarded = async <T>(call: (client: KernelWorkerClient) => Promise<T>): Promise<T> => {
    if (terminated) throw terminated
    const used = current
    if (used == null) throw new KernelAbortedError('The kernel worker was closed.')
    try {
      return await call(used.client)
    } catch (err) {
      if (leavesWorkRunning(err)) {
        const first = (err as Error).message.split('\n')[0]
        respawn(used, `a call ran past its deadline (${first})`)
      }
      throw err
    }
  }

  const run = <R extends KernelRequest>(
    request: R,
    runOptions: KernelRunOptions = {},
  ): Promise<KernelResultOf<R>> => guarded((client) => client.run(request, runOptions))

  const client: KernelWorkerClient = {
    init(runOptions = {}): Promise<HostInfo> {
      initialised = true
      return guarded((c) => c.init(runOptions))
    },
    run,
    get pending() {
      return current?.client.pending ?? 0
    },
    close(reason = new KernelAbortedError('The kernel worker was closed.')) {
      terminated ??= reason
      current?.client.close(reason)
    },
  }

  return {
    client,
    get respawns() {
      return respawns
    },
    get wedged() {
      return wedged
    },
    terminate() {
      terminated ??= new KernelAbortedError('The kernel worker was terminated.')
      // Once wedged there is no current worker: the last one is abandoned, like the others.
      current?.worker.terminate()
      current?.client.close(terminated)
    },
  }
}
