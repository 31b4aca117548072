import type { CoordinatorStore } from '../../store/coordinator-store.ts'
import { type Contributor, sameContributor } from '../contributors/contributor-registry.ts'
import type { JobRuntime, KnownAnswer, TaskRuntime } from '../jobs/job-runtime.ts'

/**
 * Accepted tasks' answers, which canaries test contributors against. Kept apart from
 * acceptance, which checks canaries' results with them, so that the scheduler, which picks
 * canaries, can take them before acceptance (which needs the scheduler) exists.
 */
export interface KnownAnswers {
  /**
   * An accepted task's answer: kept in memory since its acceptance, or, after a restart,
   * read back from its result row once (the row names its first winner only).
   */
  of(job: JobRuntime, task: TaskRuntime): KnownAnswer | null
  /**
   * Whether this accepted task, sent to `c` as a canary, would test it: its answer is known
   * and `c` is none of those who gave it. In memory, except once per task after a restart.
   */
  canTest(job: JobRuntime, task: TaskRuntime, c: Contributor): boolean
}

export function createKnownAnswers(store: CoordinatorStore): KnownAnswers {
  function knownAnswer(job: JobRuntime, task: TaskRuntime): KnownAnswer | null {
    if (task.answer !== undefined) return task.answer
    const [row] = store.resultsOfTask(job.row.id, task.index)
    task.answer =
      row == null
        ? null
        : { outputs: row.outputs, by: [{ peerId: row.peerId, payee: row.payee }], complete: false }
    return task.answer
  }

  /**
   * Re-issuing a task to someone who answered it (its peer id, wallet or address) tests
   * nothing and tells it what a canary looks like. After a restart the other agreeing
   * winners of an earlier task are unknown: it goes as a canary only to someone paid
   * nothing on this job (a winner forfeited since is the one case this misses).
   */
  function canTest(job: JobRuntime, task: TaskRuntime, c: Contributor): boolean {
    // A provisional answer is one contributor's word: a canary of it could fault an honest
    // contributor for disagreeing with a sleeper.
    if (job.provisional.has(task.index)) return false
    const answer = knownAnswer(job, task)
    if (answer == null || answer.by.some((other) => sameContributor(c, other))) return false
    return answer.complete || !job.payees.has(c.payee)
  }

  return { of: knownAnswer, canTest }
}
