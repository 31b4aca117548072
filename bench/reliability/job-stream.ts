/** One job the stream submitted, and when it ended. */
export interface StreamedJob {
  id: string
  tasks: number
  submittedAt: number
  finishedAt?: number
  status: string
}

export interface JobStreamOptions {
  url: string
  /** Blobs of A (m×k) and B (k×n), float32. */
  a: string
  b: string
  m: number
  k: number
  n: number
  /** Jobs kept running at once: a new one is submitted as soon as one ends. */
  inFlight: number
  /** Job status is polled this often. @default 500 */
  pollMs?: number
  signal: AbortSignal
  log: (line: string) => void
}

/**
 * A continuous stream of matmul jobs: `inFlight` jobs are kept running, each ended job is
 * replaced at once, until `signal` fires. Returns every job it submitted, ended or not.
 */
export async function runJobStream(options: JobStreamOptions): Promise<StreamedJob[]> {
  const { url, signal } = options
  const jobs: StreamedJob[] = []
  const running = new Map<string, StreamedJob>()
  const request = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(15_000) })
    const body = (await response.json()) as Record<string, unknown>
    if (response.status >= 400)
      throw new Error(`${path} answered ${response.status}: ${JSON.stringify(body)}`)
    return body
  }
  const submit = async () => {
    const view = await request('/v1/jobs', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        kernel: 'matmul',
        name: 'load',
        inputs: {
          a: { blob: options.a, dtype: 'float32', shape: [options.m, options.k] },
          b: { blob: options.b, dtype: 'float32', shape: [options.k, options.n] },
        },
      }),
    })
    const job: StreamedJob = {
      id: String(view.id),
      tasks: (view.tasks as { total: number }).total,
      submittedAt: performance.now(),
      status: 'running',
    }
    jobs.push(job)
    running.set(job.id, job)
  }
  let errors = 0
  while (!signal.aborted) {
    try {
      while (running.size < options.inFlight && !signal.aborted) await submit()
      // One listing per poll, whatever the number of jobs in flight.
      const list = (await request(`/v1/jobs?status=running&limit=500`)) as {
        jobs: Array<{ id: string }>
      }
      const still = new Set(list.jobs.map((j) => j.id))
      for (const job of running.values()) {
        if (still.has(job.id)) continue
        const view = await request(`/v1/jobs/${job.id}`)
        job.status = String(view.status)
        job.finishedAt = performance.now()
        running.delete(job.id)
      }
    } catch (err) {
      if (++errors <= 5)
        options.log(
          `job stream: ${String(err)} ${String((err as { cause?: unknown }).cause ?? '')}`,
        )
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500))
  }
  return jobs
}
