import type { JobView, JobWaiting } from '@tabswarm/protocol'
import type { StoredJob } from '../../store/coordinator-store.ts'

/**
 * What the API and the SDK see of a job row: plain data, safe to serialise. `live` is the
 * running job's working set, for the tasks leased now (none once it ended) and what it
 * waits for (as last worked out: see `job-watch.ts`).
 */
export function jobView(
  row: StoredJob,
  live?: { readonly leased: number; readonly waiting?: JobWaiting | undefined },
): JobView {
  const leased = live?.leased ?? 0
  const spec = row.spec
  const view: JobView = {
    id: row.id,
    kernel: row.kernel,
    owner: row.owner,
    status: row.status,
    priority: row.priority,
    tasks: {
      total: row.totalTasks,
      accepted: row.acceptedTasks,
      leased,
      rejectedResults: row.rejectedResults,
      // Inference: tasks of sequences that ended early, never run nor paid.
      ...(row.closedTasks != null && row.closedTasks > 0 ? { closed: row.closedTasks } : {}),
    },
    credits: {
      budget: row.budget.toString(),
      spent: row.spent.toString(),
      refunded: row.refunded.toString(),
    },
    createdAt: row.createdAt,
  }
  if (spec.name != null) view.name = spec.name
  if (spec.kernel === 'matmul')
    view.args = {
      m: spec.inputs.a.shape[0]!,
      k: spec.inputs.a.shape[1]!,
      n: spec.inputs.b.shape[1]!,
    }
  if (row.deadline != null) view.deadline = row.deadline
  if (row.finishedAt != null) view.finishedAt = row.finishedAt
  if (row.error != null) view.error = row.error
  if (row.status === 'running' && live?.waiting != null) view.waiting = { ...live.waiting }
  return view
}
