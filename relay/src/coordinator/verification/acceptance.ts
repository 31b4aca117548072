import type { JobStatus, TaskResultRecord, TensorRef, VerificationMethod } from '@tabswarm/protocol'
import type { BlobStore } from '../../blobs/blob-store.ts'
import type { Ledger } from '../../ledger/ledger.ts'
import type { Logger } from '../../log.ts'
import type { CoordinatorStore } from '../../store/coordinator-store.ts'
import type { Clock } from '../clock.ts'
import {
  type Contributor,
  type ContributorIdentity,
  type ContributorRegistry,
  identityOf,
  sameContributor,
} from '../contributors/contributor-registry.ts'
import type { ResultOutcome, ResultTensor } from '../coordinator-api.ts'
import type { CoordinatorCounters } from '../coordinator-counters.ts'
import {
  checkDecoderResult,
  type DecoderCompute,
  decoderResultsAgree,
} from '../inference/decoder-verifier.ts'
import type { InferenceInputs } from '../inference/inference-inputs.ts'
import { type ResultProof, resultSignatureProblem } from '../inference/result-signature-check.ts'
import { tallyCompute } from '../jobs/compute-tally.ts'
import type { JobPublication } from '../jobs/job-publication.ts'
import type { JobRuntime, KnownAnswer, Replica, TaskRuntime } from '../jobs/job-runtime.ts'
import { jobView } from '../jobs/job-view.ts'
import type { LeaseTable } from '../leases/lease-table.ts'
import type { Scheduler } from '../leases/scheduler.ts'
import { credibility } from './credibility.ts'
import type { KnownAnswers } from './known-answers.ts'
import type { ProvisionalResults } from './provisional-results.ts'
import type { ResultVerifier } from './result-verifier.ts'
import { decideReplicas, type VerdictQueue } from './verdict-queue.ts'

export interface AcceptanceDeps {
  store: CoordinatorStore
  blobs: BlobStore
  ledger: Ledger
  clock: Clock
  log: Logger
  counters: CoordinatorCounters
  jobs: ReadonlyMap<string, JobRuntime>
  leases: LeaseTable
  contributors: ContributorRegistry
  scheduler: Scheduler
  verifier: ResultVerifier
  publication: JobPublication
  /** Trusted-only acceptances: kept provisional, confirmed, or undone (backtracking). */
  provisional: ProvisionalResults
  /** Accepted tasks' answers, which canaries' results are checked against. */
  answers: KnownAnswers
  /** Ends a job: settles its ledger and publishes its end. */
  finish(job: JobRuntime, status: Exclude<JobStatus, 'running'>, error?: string): void
  /**
   * Ends a lease; its task goes back to the queue (at the end or the front, as `putBack`
   * says) when nobody else holds it, or stays out with `false`.
   */
  dropLease(leaseId: string, putBack?: 'back' | 'front' | false): void
  /** Takes the leases and waiting replicas of newly banned contributors away. */
  expel(outcast: readonly Contributor[]): void
  /** Where the verdicts of results told `pending` go once they are decided. */
  verdicts: Pick<VerdictQueue, 'decide'>
  /** Fraction of saboteurs credibility assumes. */
  faultRate: number
  /** Verification failures of one task before its job fails. */
  maxTaskFailures: number
  /** Decoder results: how they are checked, and what an accepted one advances. */
  inference: {
    /** Uniform [0, 1) numbers: which results the relay recomputes. */
    random: () => number
    /** Fraction of decoder results recomputed on the relay when the policy names no `spotCheck`. */
    spotCheckRate: number
    /** The arithmetic a contributor computes a job's decoder in (sets the tolerance). */
    computeOf(peerId: string, inputs: InferenceInputs): DecoderCompute
    /**
     * An inference task was accepted with these outputs from `producer`: its sequences
     * advance (successors become ready, tokens are chosen and told, ended sequences' tasks
     * are closed). Runs before the job's completion is judged.
     */
    advanced(job: JobRuntime, task: TaskRuntime, producer: string, outputs: ResultTensor[]): void
  }
}

export interface Acceptance {
  /** Verifies a result and records what it decides; see `WorkGateway.submitResult`. */
  record(
    peerId: string,
    leaseId: string,
    outputs: ResultTensor[],
    proof?: ResultProof,
  ): ResultOutcome
  /** A contributor could not run its task; see `WorkGateway.reportTaskError`. */
  taskError(peerId: string, leaseId: string, code: string, message: string): ResultOutcome
}

/**
 * What happens to a result: the verifier's verdict applied in one transaction (the result
 * row, its payments, the losers' faults and forfeits, a rejection's count and fault), then
 * the in-memory effects (leases dropped, tasks requeued, events published once committed).
 */
export function createAcceptance(deps: AcceptanceDeps): Acceptance {
  const { store, blobs, ledger, clock, log, counters, jobs, leases, contributors, verifier } = deps
  const { publication, provisional, answers, finish, dropLease, expel } = deps
  const { faultRate, maxTaskFailures, verdicts } = deps
  const { requeue, markFailed } = deps.scheduler
  const publish = publication.publish
  const count = counters.count

  function accept(
    job: JobRuntime,
    task: TaskRuntime,
    winners: Array<ContributorIdentity & { leaseId: string; signature?: string }>,
    outputs: ResultTensor[],
    method: VerificationMethod,
    /** The lease whose result is being acknowledged now: owed no verdict. */
    answering: string,
    /** More changes of the same decision (the losers' faults), in the same transaction. */
    alongside?: () => void,
  ): void {
    const at = clock.now()
    const row = job.row
    let refs: TensorRef[] = []
    let seq = 0
    // One contributor's credibility is all that stands behind it: kept back from readers, and
    // undone if that contributor is caught before the job settles (`provisional-results.ts`).
    // Not under an explicit `replication: 1`: there the researcher chose to take one
    // contributor's word, whoever it is, and asked for no second one.
    // Nor for inference: a successor consumed the accepted stage at once, so it cannot be
    // undone later; decoder results are recomputed on the relay at the spot-check rate.
    const trustedOnly =
      method === 'trusted' &&
      row.spec.verification?.replication == null &&
      job.inputs.kind !== 'inference'
    const confirming = task.confirming
    store.transaction(() => {
      // Inside the unit: a small output is stored inline, in the same commit as its row.
      refs = outputs.map((o) => ({
        blob: blobs.put(o.bytes).hash,
        dtype: o.dtype,
        shape: [...o.shape],
      }))
      seq = store.insertResult({
        jobId: row.id,
        taskIndex: task.index,
        taskId: task.id,
        leaseId: winners[0]!.leaseId,
        payee: winners[0]!.payee,
        peerId: winners[0]!.peerId,
        outputs: refs,
        method,
        acceptedAt: at,
        ...(trustedOnly ? { provisional: true as const } : {}),
        ...(winners[0]!.signature != null ? { signature: winners[0]!.signature } : {}),
      })
      if (trustedOnly)
        provisional.add(job, {
          taskIndex: task.index,
          taskId: task.id,
          leaseId: winners[0]!.leaseId,
          peerId: winners[0]!.peerId,
          payee: winners[0]!.payee,
          outputs: refs,
          acceptedAt: at,
          seq,
        })
      // The second replica asked for before settlement agrees: its trusted contributor's
      // other provisional acceptances on this job stand with it.
      if (confirming != null && winners.some((w) => w.peerId === confirming.peerId))
        provisional.confirm(job, confirming)
      for (const w of winners) {
        const paid = ledger.pay(row.id, w.payee, row.taskCredits, at, `pay:${w.leaseId}`, w.site)
        row.spent += paid
        counters.creditsPaid += paid
        job.payees.add(w.payee)
      }
      row.acceptedTasks++
      store.updateJob(row.id, { acceptedTasks: row.acceptedTasks, spent: row.spent })
      tallyCompute(store, job, task.index, at)
      alongside?.()
    })
    publication.wrote(seq)
    task.accepted = true
    // Whoever reported this task as failing was wrong (it ran, and was verified, elsewhere):
    // only now does the report cost credibility. An honest report of a researcher's broken
    // or endless kernel never does.
    for (const reporter of task.errorReporters ?? []) {
      const c = contributors.get(reporter.peerId)
      if (c != null) contributors.discredit(c)
    }
    task.answer = { outputs: refs, by: winners.map(identityOf), complete: true }
    // Those told `pending` before hear how it ended: the winners are paid, every other
    // replica (outvoted, or overtaken by a checked result) earns nothing. The submitter
    // being answered now (`answering`) hears it in its own acknowledgement.
    if (task.replicas.length > 0) {
      const won = new Set(winners.map((w) => w.leaseId))
      decideReplicas(verdicts, task.id, task.replicas, (r) =>
        r.leaseId === answering ? undefined : won.has(r.leaseId) ? 'accepted' : 'rejected',
      )
    }
    task.replicas = []
    task.confirming = undefined
    for (const leaseId of [...task.leases]) dropLease(leaseId, false)
    if (!trustedOnly)
      publish(job, () => {
        const result: TaskResultRecord = {
          seq,
          taskId: task.id,
          index: task.index,
          outputs: refs,
          method,
          acceptedAt: at,
        }
        return { type: 'result', job: jobView(row, job), result }
      })
    if (job.inputs.kind === 'inference')
      deps.inference.advanced(job, task, winners[0]!.peerId, outputs)
    if (job.row.status !== 'running') return
    if (row.acceptedTasks + (row.closedTasks ?? 0) === row.totalTasks) {
      // The job settles only once nothing in it stands on credibility alone.
      if (provisional.settleable(job)) finish(job, 'completed')
      else publish(job, () => ({ type: 'progress', job: jobView(row, job) }))
    } else if (ledger.escrowed(row.id) < row.taskCredits)
      finish(
        job,
        'failed',
        `budget exhausted after ${row.spent} credits with ${row.acceptedTasks} of ${row.totalTasks} tasks accepted`,
      )
    else publish(job, () => ({ type: 'progress', job: jobView(row, job) }))
  }

  /** A wrong result: counted and faulted in one transaction; the task goes to someone else. */
  function reject(
    job: JobRuntime,
    task: TaskRuntime,
    c: Contributor,
    reason: string,
  ): ResultOutcome {
    task.failures++
    markFailed(task, c)
    let outcast: Contributor[] = []
    store.transaction(() => {
      job.row.rejectedResults++
      store.updateJob(job.row.id, { rejectedResults: job.row.rejectedResults })
      outcast = provisional.fault(c, reason, { job: job.row.id, task: task.index })
    })
    expel(outcast)
    if (task.failures >= maxTaskFailures && !task.accepted) {
      finish(job, 'failed', `task ${task.index} failed verification ${task.failures} times`)
    } else {
      requeue(job, task)
      publish(job, () => ({ type: 'progress', job: jobView(job.row, job) }))
    }
    return { outcome: 'rejected', reason }
  }

  /** The known answer's bytes, if every blob is still there (else it is dropped for good). */
  function knownOutputs(task: TaskRuntime, answer: KnownAnswer): ResultTensor[] | undefined {
    const outputs: ResultTensor[] = []
    for (const ref of answer.outputs) {
      const bytes = blobs.get(ref.blob)
      if (bytes == null) {
        task.answer = null
        return undefined
      }
      outputs.push({ shape: ref.shape, dtype: ref.dtype, bytes })
    }
    return outputs
  }

  /**
   * Applies a vote's verdict: an accepted group is recorded and paid, and the contradicting
   * replicas faulted, in one transaction; an exhausted round counts as a task failure.
   */
  function decideVote(
    job: JobRuntime,
    task: TaskRuntime,
    answering: string,
    agree?: (x: readonly ResultTensor[], y: readonly ResultTensor[]) => boolean,
  ): ResultOutcome & { method: VerificationMethod } {
    // A trusted answer taken back for confirmation needs a second distinct contributor to
    // agree: its own credibility must not carry it (or outvote the one asked to check it).
    const policy = task.confirming != null ? { replication: 2 } : (job.row.spec.verification ?? {})
    const verdict = verifier.vote(
      task.replicas,
      policy,
      (r) => credibility(contributors.get(r.peerId)?.record.verified ?? 0, faultRate),
      agree,
    )
    if (verdict.kind === 'pending') {
      if (!verdict.exhausted) {
        requeue(job, task)
        return { outcome: 'pending', method: 'replication' }
      }
      // The round is dropped: nothing of it is paid, so everyone in it hears `rejected`, the
      // submitter too (its own acknowledgement says `pending` with the reason, for the round).
      decideReplicas(verdicts, task.id, task.replicas, () => 'rejected')
      task.replicas = []
      task.failures++
      if (task.failures >= maxTaskFailures)
        finish(job, 'failed', `task ${task.index}: ${verdict.reason}`)
      else requeue(job, task)
      return { outcome: 'pending', reason: verdict.reason!, method: 'replication' }
    }
    return acceptGroup(job, task, verdict.winners, verdict.losers, verdict.method, answering)
  }

  /**
   * Accepts an agreeing group of replicas and faults those who contradicted it, in one
   * transaction; tells the submitter (`answering`) what it earned.
   */
  function acceptGroup(
    job: JobRuntime,
    task: TaskRuntime,
    winners: Replica[],
    losers: Replica[],
    method: VerificationMethod,
    answering: string,
  ): ResultOutcome & { method: VerificationMethod } {
    const outcast: Contributor[] = []
    // One decision, one transaction: the answer accepted and paid, and those who contradicted
    // it faulted and their pending credit forfeited, before the job can settle.
    accept(job, task, winners, winners[0]!.outputs, method, answering, () => {
      for (const loser of losers) {
        markFailed(task, loser)
        const c = contributors.get(loser.peerId)
        job.row.rejectedResults++
        // The submitter's own outcome is counted by `record`, as every answer's is.
        if (loser.leaseId !== answering) count('rejected', method)
        if (c != null)
          outcast.push(
            ...provisional.fault(c, reasonOf(method), {
              job: job.row.id,
              task: task.index,
            }),
          )
      }
      if (losers.length > 0)
        store.updateJob(job.row.id, { rejectedResults: job.row.rejectedResults })
    })
    expel(outcast)
    // Outvoted as it came in: what it is told must be what it earns.
    if (losers.some((l) => l.leaseId === answering))
      return { outcome: 'rejected', reason: reasonOf(method), method }
    return { outcome: 'accepted', method }
  }

  const reasonOf = (method: VerificationMethod) =>
    method === 'spot-check'
      ? 'replicas disagreed and the relay recomputation sided with another'
      : 'outvoted by a credible majority'

  /**
   * A decoder result (a pipeline stage or a batch): signed by its sender or rejected; then
   * recomputed on the relay at the spot-check rate (every one under `spotCheck: 1`), else
   * voted on with other contributors' replicas compared within tolerance (adaptive
   * replication), and when replicas disagree, the relay's recomputation decides which are
   * right.
   */
  function decideInference(
    job: JobRuntime,
    task: TaskRuntime,
    c: Contributor,
    taskId: string,
    leaseId: string,
    outputs: ResultTensor[],
    proof: ResultProof | undefined,
  ): ResultOutcome {
    const inputs = job.inputs as InferenceInputs
    const problem = resultSignatureProblem(c.peerId, taskId, proof)
    if (problem != null) {
      count('rejected', 'none')
      return reject(job, task, c, problem)
    }
    const signature = proof!.signature!
    const policy = job.row.spec.verification ?? {}
    const { inference } = deps
    if (inference.random() < (policy.spotCheck ?? inference.spotCheckRate)) {
      const check = checkDecoderResult(
        inputs,
        task.index,
        outputs,
        inference.computeOf(c.peerId, inputs),
      )
      counters.spotChecks++
      counters.spotCheckedFlops += check.flops
      count(check.ok ? 'accepted' : 'rejected', 'spot-check')
      if (!check.ok) return reject(job, task, c, `recomputed on the relay: ${check.reason}`)
      contributors.credit(c)
      accept(
        job,
        task,
        [{ leaseId, ...identityOf(c), signature }],
        outputs,
        'spot-check',
        leaseId,
        () => provisional.confirm(job, c),
      )
      return { outcome: 'accepted' }
    }
    if (task.replicas.some((r) => sameContributor(c, r))) {
      count('stale', 'none')
      requeue(job, task)
      return {
        outcome: 'stale',
        reason:
          'a result from the same peer, wallet or network address already counts for this task',
      }
    }
    task.replicas.push({ leaseId, ...identityOf(c), outputs, signature })
    // The looser of the replicas' formats: an f16 contributor's honest rounding is no fault.
    const compute: DecoderCompute = task.replicas.some(
      (r) => inference.computeOf(r.peerId, inputs) === 'float16',
    )
      ? 'float16'
      : 'float32'
    const agree = (x: readonly ResultTensor[], y: readonly ResultTensor[]) =>
      decoderResultsAgree(inputs, task.index, x, y, compute)
    const first = task.replicas[0]!
    if (task.replicas.some((r) => !agree(first.outputs, r.outputs)))
      return decideByReference(job, task, leaseId)
    const { method, ...outcome } = decideVote(job, task, leaseId, agree)
    count(outcome.outcome, method)
    return outcome
  }

  /** Replicas of a decoder task disagree: the relay recomputes it, and the right ones win. */
  function decideByReference(job: JobRuntime, task: TaskRuntime, answering: string): ResultOutcome {
    const inputs = job.inputs as InferenceInputs
    const winners: Replica[] = []
    const losers: Replica[] = []
    for (const r of task.replicas) {
      const check = checkDecoderResult(
        inputs,
        task.index,
        r.outputs,
        deps.inference.computeOf(r.peerId, inputs),
      )
      counters.spotChecks++
      counters.spotCheckedFlops += check.flops
      ;(check.ok ? winners : losers).push(r)
    }
    if (winners.length > 0) {
      for (const w of winners) {
        const c = contributors.get(w.peerId)
        if (c != null) contributors.credit(c)
      }
      const { method, ...outcome } = acceptGroup(
        job,
        task,
        winners,
        losers,
        'spot-check',
        answering,
      )
      count(outcome.outcome, method)
      return outcome
    }
    // Nobody was right: every replica is faulted and the task starts over elsewhere.
    const outcast: Contributor[] = []
    store.transaction(() => {
      for (const r of task.replicas) {
        markFailed(task, r)
        job.row.rejectedResults++
        const c = contributors.get(r.peerId)
        if (c != null)
          outcast.push(
            ...provisional.fault(c, 'wrong decoder result (relay recomputation)', {
              job: job.row.id,
              task: task.index,
            }),
          )
      }
      store.updateJob(job.row.id, { rejectedResults: job.row.rejectedResults })
    })
    decideReplicas(verdicts, task.id, task.replicas, (r) =>
      r.leaseId === answering ? undefined : 'rejected',
    )
    task.replicas = []
    task.failures++
    expel(outcast)
    count('rejected', 'spot-check')
    if (task.failures >= maxTaskFailures)
      finish(job, 'failed', `task ${task.index} failed verification ${task.failures} times`)
    else requeue(job, task)
    return { outcome: 'rejected', reason: 'the relay recomputation agrees with no replica' }
  }

  /**
   * A canary's answer: faulted when it differs from the known one, else paid like any
   * result; stale, unpaid, when the known answer can no longer check it.
   */
  function decideCanary(
    job: JobRuntime,
    task: TaskRuntime,
    c: Contributor,
    leaseId: string,
    outputs: ResultTensor[],
  ): ResultOutcome {
    // Checked again now: `c` may have registered another wallet or address since its lease.
    const answer = answers.canTest(job, task, c) ? answers.of(job, task) : null
    const known = answer != null ? knownOutputs(task, answer) : undefined
    if (known == null) {
      // The answer is gone (its blob), or `c` now shares a peer id, wallet or address with
      // those who gave it: nothing checks this result, so it earns nothing.
      count('stale', 'canary')
      return { outcome: 'stale', reason: 'the known answer cannot check this result any more' }
    }
    if (!verifier.matchesKnown(known, outputs)) {
      count('rejected', 'canary')
      let outcast: Contributor[] = []
      store.transaction(() => {
        outcast = provisional.fault(c, 'wrong answer to a task with a known answer', {
          job: job.row.id,
          task: task.index,
        })
        job.row.rejectedResults++
        store.updateJob(job.row.id, { rejectedResults: job.row.rejectedResults })
      })
      expel(outcast)
      return { outcome: 'rejected', reason: 'result does not match the verified answer' }
    }
    count('accepted', 'canary')
    // Paid like any result, from the job's escrow into pending credit: forfeited if this
    // contributor is caught cheating before the job ends.
    const at = clock.now()
    store.transaction(() => {
      const paid = ledger.pay(
        job.row.id,
        c.payee,
        job.row.taskCredits,
        at,
        `pay:${leaseId}`,
        c.site,
      )
      job.row.spent += paid
      counters.creditsPaid += paid
      job.payees.add(c.payee)
      // Counted on the row: a canary is no result of the job's tasks, so no results row shows it.
      job.row.canariesAccepted = (job.row.canariesAccepted ?? 0) + 1
      store.updateJob(job.row.id, {
        spent: job.row.spent,
        canariesAccepted: job.row.canariesAccepted,
      })
      // A canary looks like any task of this job: answered right, it vouches for what this
      // contributor was trusted with here before it.
      provisional.confirm(job, c)
    })
    contributors.credit(c)
    return { outcome: 'accepted' }
  }

  function verifyAndRecord(
    peerId: string,
    leaseId: string,
    outputs: ResultTensor[],
    proof?: ResultProof,
  ): ResultOutcome {
    const lease = leases.get(leaseId)
    if (lease == null || lease.peerId !== peerId) {
      const recorded = store.resultByLease(leaseId)
      if (recorded != null && recorded.peerId === peerId) {
        count('accepted', recorded.method)
        return { outcome: 'accepted', reason: 'already accepted' }
      }
      count('stale', 'none')
      return { outcome: 'stale', reason: 'lease unknown, expired or held by another peer' }
    }
    // The lease ends with its result, whatever the verdict: the task goes back to the
    // queue below only when the verdict says so.
    dropLease(leaseId, false)
    const job = jobs.get(lease.jobId)
    const task = job?.tasks[lease.taskIndex]
    const c = contributors.get(peerId)
    if (job == null || task == null) {
      count('stale', 'none')
      return { outcome: 'stale', reason: 'the job is over' }
    }
    if (c == null || c.record.banned) {
      count('rejected', 'none')
      requeue(job, task)
      return { outcome: 'rejected', reason: 'contributor is banned or unknown' }
    }
    const mismatched = verifier.shapeMismatch(job.inputs, task.index, outputs)
    if (mismatched != null) {
      count('rejected', 'none')
      return reject(job, task, c, mismatched)
    }
    if (lease.canary) return decideCanary(job, task, c, leaseId, outputs)
    if (task.accepted) {
      // A speculative duplicate that lost the race: no credit, no fault.
      count('stale', 'none')
      return { outcome: 'stale', reason: 'another contributor finished this task first' }
    }

    if (job.inputs.kind === 'inference')
      return decideInference(job, task, c, lease.taskId, leaseId, outputs, proof)
    const policy = job.row.spec.verification ?? {}
    if (job.inputs.kind === 'matmul') {
      const verdict = verifier.checkTile(
        job.inputs,
        task.index,
        outputs[0]!,
        policy,
        c.record.verified,
      )
      if (verdict.kind !== 'unchecked') {
        if (verdict.method === 'spot-check') {
          counters.spotChecks++
          counters.spotCheckedFlops += verdict.recomputedFlops
        }
        count(verdict.kind === 'accept' ? 'accepted' : 'rejected', verdict.method)
        if (verdict.kind === 'reject') return reject(job, task, c, verdict.reason)
        // An independent check passed: evidence for the contributor's credibility.
        contributors.credit(c)
        // Checked after its earlier trusted-only acceptances on this job: they stand now.
        accept(job, task, [{ leaseId, ...identityOf(c) }], outputs, verdict.method, leaseId, () =>
          provisional.confirm(job, c),
        )
        return { outcome: 'accepted' }
      }
    }
    // Checked again now: the contributor may have reconnected from another address (or
    // registered another wallet) since its lease was granted.
    if (task.replicas.some((r) => sameContributor(c, r))) {
      count('stale', 'none')
      requeue(job, task)
      return {
        outcome: 'stale',
        reason:
          'a result from the same peer, wallet or network address already counts for this task',
      }
    }
    task.replicas.push({ leaseId, ...identityOf(c), outputs })
    const { method, ...outcome } = decideVote(job, task, leaseId)
    count(outcome.outcome, method)
    return outcome
  }

  function taskError(
    peerId: string,
    leaseId: string,
    code: string,
    message: string,
  ): ResultOutcome {
    const lease = leases.get(leaseId)
    if (lease == null || lease.peerId !== peerId) return { outcome: 'stale' as const }
    const job = jobs.get(lease.jobId)
    const task = job?.tasks[lease.taskIndex]
    const c = contributors.get(peerId)
    dropLease(leaseId, false)
    if (job == null || task == null || task.accepted) return { outcome: 'stale' as const }
    if (c == null || c.record.banned) {
      requeue(job, task)
      return { outcome: 'rejected' as const, reason: 'contributor is banned or unknown' }
    }
    // Not a fault, and no cost yet: the error may well lie with the researcher's kernel (it
    // does not compile, it never ends). The reporter never gets this task again, so it
    // cannot report it twice, and its credibility halves only if the task is later accepted
    // from someone else (see `accept`): a report proved wrong.
    markFailed(task, c)
    task.errorReporters ??= []
    const reporters = task.errorReporters
    log.info('task error reported', {
      peer: peerId,
      job: job.row.id,
      task: task.index,
      code: String(code).slice(0, 64),
    })
    if (!reporters.some((r) => sameContributor(c, r))) reporters.push(identityOf(c))
    // The error lies with the job once contributors with distinct peer ids, wallets and
    // addresses hit it: one contributor (or one Sybil) cannot fail someone else's job.
    if (reporters.length >= 2)
      finish(
        job,
        'failed',
        `task ${task.index} failed on ${reporters.length} distinct contributors: ${code}: ${message}`,
      )
    else requeue(job, task)
    return { outcome: 'rejected' as const, reason: 'task error recorded' }
  }

  return { record: verifyAndRecord, taskError }
}
