import type { JobDetail, JobView, TaskStates } from '@tabswarm/protocol'
import { plural } from './plural.ts'

/**
 * `tabswarm job <id>` for people: a job in detail, one aspect a line, labels aligned. From
 * `GET /v1/jobs/:id/detail`, or from the `JobView` alone when the relay predates it.
 */

const LABEL_WIDTH = 14

const line = (label: string, text: string) => `${`${label}:`.padEnd(LABEL_WIDTH)}${text}`

/** `1.2 s`, `3 min 4 s`, `2 h 5 min`. */
export function formatDuration(ms: number): string {
  const seconds = ms / 1000
  if (seconds < 60) return `${seconds.toFixed(1)} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes} min ${Math.round(seconds - minutes * 60)} s`
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}

/** `matmul 1024×512 · 512×1024 → 1024×1024`, or `custom`. */
function shapeOf(job: JobView): string {
  if (job.kernel !== 'matmul' || job.args == null) return job.kernel
  const { m, k, n } = job.args
  return `matmul ${m}×${k} · ${k}×${n} → ${m}×${n}`
}

/** The lines every view has: status, shape, credits, waiting, error. */
function headLines(job: JobView): string[] {
  const name = job.name != null ? `  "${job.name.replace(/[^\x20-\x7e]/g, '?').slice(0, 80)}"` : ''
  return [`job ${job.id}  ${job.status}${name}`, line('kernel', shapeOf(job))]
}

function creditLine(job: JobView): string {
  const { budget, spent, refunded } = job.credits
  return line(
    'credits',
    job.status === 'running'
      ? `${plural(budget, 'credit')} escrowed, ${spent} spent so far`
      : `${plural(budget, 'credit')} escrowed, ${spent} spent, ${refunded} refunded`,
  )
}

function tailLines(job: JobView): string[] {
  return [
    ...(job.status === 'running' && job.waiting ? [line('waiting for', job.waiting.message)] : []),
    ...(job.error ? [line('error', job.error)] : []),
  ]
}

/** A job in detail, several lines. */
export function describeJobDetail(detail: JobDetail): string {
  const { job, tasks, verification: v, timings, throughput } = detail
  const after = (at: number | undefined) =>
    at == null ? undefined : formatDuration(Math.max(0, at - timings.createdAt))
  const moments = [
    `created ${new Date(timings.createdAt).toISOString()}`,
    ...(after(timings.firstLeaseAt) ? [`first lease after ${after(timings.firstLeaseAt)}`] : []),
    ...(after(timings.firstAcceptedAt)
      ? [`first result accepted after ${after(timings.firstAcceptedAt)}`]
      : []),
    `${job.status === 'running' ? 'running for' : 'took'} ${formatDuration(timings.elapsedMs)}`,
  ]
  return [
    ...headLines(job),
    line('tasks', taskLine(job, tasks)),
    line(
      'verification',
      `${v.freivalds} Freivalds, ${v.recomputed} recomputed, ${v.agreed} agreed, ${v.canary} canary, ${v.trusted} trusted; ${plural(v.rejected, 'result')} rejected`,
    ),
    creditLine(job),
    line('timings', moments.join(', ')),
    line(
      'throughput',
      `${figure(throughput.tasksPerSecond)} tasks/s, ${figure(throughput.gflopPerSecond)} GFLOP/s (${figure(detail.flops / 1e9)} GFLOP in all)`,
    ),
    ...tailLines(job),
  ].join('\n')
}

/** What the `JobView` alone says, for a relay without `/detail`. */
export function describeJobView(job: JobView, now = Date.now()): string {
  return [
    ...headLines(job),
    line(
      'tasks',
      `${job.tasks.accepted} of ${plural(job.tasks.total, 'task')} accepted; ${job.tasks.leased} leased, ${plural(job.tasks.rejectedResults, 'result')} rejected`,
    ),
    creditLine(job),
    line(
      'timings',
      `created ${new Date(job.createdAt).toISOString()}, ${job.status === 'running' ? 'running for' : 'took'} ${formatDuration((job.finishedAt ?? now) - job.createdAt)}`,
    ),
    ...tailLines(job),
  ].join('\n')
}

/**
 * Tasks by state. A job that ended has nothing queued or leased any more: what it did not
 * accept was never run (cancelled, failed) rather than waiting.
 */
function taskLine(job: JobView, tasks: TaskStates): string {
  const accepted = `${tasks.accepted} of ${plural(tasks.total, 'task')} accepted`
  if (job.status !== 'running') {
    const left = tasks.total - tasks.accepted
    return left > 0 ? `${accepted}; ${left} not run (the job ${job.status})` : accepted
  }
  return `${accepted}; ${tasks.queued} queued, ${tasks.leased} leased, ${tasks.awaitingSecondOpinion} awaiting a second opinion, ${tasks.awaitingConfirmation} awaiting confirmation`
}

/** Two decimals, or three significant digits below 1: a small job's 0.00024 GFLOP is not 0.00. */
function figure(value: number): string {
  return value !== 0 && Math.abs(value) < 1 ? value.toPrecision(3) : value.toFixed(2)
}
