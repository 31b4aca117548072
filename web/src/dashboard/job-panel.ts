import type { JobDetail, JobView, TensorRef } from '@tabswarm/protocol'
import { encodeNpy, type TabswarmClient } from '@tabswarm/sdk'
import * as format from './format.ts'
import { saveFile } from './save-file.ts'
import { TaskChart } from './task-chart.ts'
import { DETAIL_REFRESH_MS, DOWNLOAD_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from './timeouts.ts'
import { waitingText } from './waiting-text.ts'

/** A `<dt>`/`<dd>` list whose values the panel rewrites. */
function figures(labels: Record<string, string>, testPrefix: string) {
  const list = document.createElement('dl')
  list.className = 'stats'
  const values: Record<string, HTMLElement> = {}
  for (const [key, label] of Object.entries(labels)) {
    const dt = document.createElement('dt')
    dt.textContent = label
    const dd = document.createElement('dd')
    dd.textContent = '–'
    dd.dataset.testid = `${testPrefix}-${key}`
    values[key] = dd
    list.append(dt, dd)
  }
  return { list, values }
}

const heading = (level: 'h3' | 'h4', text: string) => {
  const h = document.createElement(level)
  h.textContent = text
  return h
}

/**
 * One job on the dashboard, live: what it waits for, its tasks by state and over time,
 * how its results were verified, its throughput and credits; Cancel (the refund shown)
 * while it runs, and its outputs as `.npy` files once there are results. Follows the job's
 * event stream through the SDK's handle and reads its detail again at each event (and every
 * few seconds, so the chart moves between events).
 */
export class JobPanel {
  readonly element: HTMLElement
  private readonly controller = new AbortController()
  private readonly chart: TaskChart
  private readonly status: HTMLElement
  private readonly waiting: HTMLElement
  private readonly message: HTMLElement
  private readonly cancelButton: HTMLButtonElement
  private readonly downloadButton: HTMLButtonElement
  private readonly outputs: HTMLElement
  private readonly tasks
  private readonly verification
  private readonly credits
  private job: JobView | undefined
  private refreshing = false
  private readonly listed = new Set<string>()

  private readonly client: TabswarmClient
  readonly id: string

  /** Called once the job has ended (completed, failed or cancelled). */
  onEnded: ((job: JobView) => void) | undefined

  constructor(client: TabswarmClient, id: string, submitted?: JobView) {
    this.client = client
    this.id = id
    const article = document.createElement('article')
    article.className = 'job'
    article.dataset.testid = 'job'
    article.dataset.jobId = id
    const titleId = `job-title-${id}`
    article.setAttribute('aria-labelledby', titleId)
    const title = heading('h3', `Job ${id.slice(0, 8)}`)
    title.id = titleId
    this.status = document.createElement('p')
    this.status.dataset.testid = 'job-status'
    this.waiting = document.createElement('p')
    this.waiting.className = 'waiting'
    this.waiting.dataset.testid = 'job-waiting'
    this.waiting.setAttribute('role', 'status')
    this.tasks = figures(
      {
        total: 'Tasks',
        queued: 'Queued',
        leased: 'Being computed',
        awaitingSecondOpinion: 'Awaiting a second opinion',
        awaitingConfirmation: 'Awaiting confirmation',
        accepted: 'Accepted',
      },
      'tasks',
    )
    this.verification = figures(
      {
        freivalds: 'Checked by Freivalds’ test',
        recomputed: 'Recomputed by the relay',
        agreed: 'Agreed by two contributors',
        canary: 'Canaries passed',
        trusted: 'Trusted contributor',
        rejected: 'Results rejected',
      },
      'verified',
    )
    this.credits = figures(
      {
        escrowed: 'Escrowed',
        spent: 'Spent',
        refunded: 'Refunded',
        throughput: 'Throughput',
        elapsed: 'Time',
      },
      'credits',
    )
    this.chart = new TaskChart('Tasks over time, by state')
    const actions = document.createElement('div')
    actions.className = 'actions'
    this.cancelButton = document.createElement('button')
    this.cancelButton.type = 'button'
    this.cancelButton.textContent = 'Cancel job'
    this.cancelButton.dataset.testid = 'job-cancel'
    this.cancelButton.addEventListener('click', () => void this.cancel())
    this.downloadButton = document.createElement('button')
    this.downloadButton.type = 'button'
    this.downloadButton.textContent = 'Download result (.npy)'
    this.downloadButton.dataset.testid = 'job-download'
    this.downloadButton.hidden = true
    this.downloadButton.addEventListener('click', () => void this.downloadMatmul())
    actions.append(this.cancelButton, this.downloadButton)
    this.message = document.createElement('p')
    this.message.className = 'note'
    this.message.dataset.testid = 'job-message'
    this.message.setAttribute('aria-live', 'polite')
    this.outputs = document.createElement('ul')
    this.outputs.className = 'outputs'
    this.outputs.dataset.testid = 'job-outputs'
    this.outputs.hidden = true

    const columns = document.createElement('div')
    columns.className = 'columns'
    const left = document.createElement('div')
    left.append(heading('h4', 'Tasks by state'), this.tasks.list)
    const right = document.createElement('div')
    right.append(heading('h4', 'How results were verified'), this.verification.list)
    columns.append(left, right)
    article.append(
      title,
      this.status,
      this.waiting,
      columns,
      this.chart.element,
      heading('h4', 'Credits and speed'),
      this.credits.list,
      actions,
      this.message,
      this.outputs,
    )
    this.element = article
    if (submitted) this.render(submitted)
  }

  /** Follows the job until it ends or the panel is closed. */
  async follow(): Promise<void> {
    const signal = this.controller.signal
    const timer = setInterval(() => {
      if (this.job?.status === 'running') void this.refreshDetail()
    }, DETAIL_REFRESH_MS)
    try {
      for await (const job of this.client.job(this.id).progress({ signal })) {
        this.render(job)
        void this.refreshDetail()
      }
      await this.refreshDetail()
      if (this.job) this.onEnded?.(this.job)
      if (this.job?.kernel === 'custom') await this.listOutputs()
    } catch (err) {
      if (!signal.aborted) this.say(`Lost track of the job: ${(err as Error).message}`, true)
    } finally {
      clearInterval(timer)
    }
  }

  close(): void {
    this.controller.abort()
    this.chart.destroy()
    this.element.remove()
  }

  private render(job: JobView): void {
    this.job = job
    const done = job.status !== 'running'
    this.element.dataset.status = job.status
    const what =
      job.kernel === 'matmul' && job.args
        ? `matrix multiply, C is ${job.args.m} × ${job.args.n} (inner ${job.args.k})`
        : 'custom kernel'
    this.status.textContent = `${job.name ? `${job.name}: ` : ''}${what}. Status: ${job.status}, ${format.count(job.tasks.accepted)} of ${format.plural(job.tasks.total, 'task')} accepted.${job.error ? ` ${job.error}` : ''}`
    this.waiting.textContent = done ? '' : waitingText(job)
    this.waiting.hidden = done
    this.credits.values.escrowed!.textContent = format.credits(job.credits.budget)
    this.credits.values.spent!.textContent = format.credits(job.credits.spent)
    this.credits.values.refunded!.textContent = format.credits(job.credits.refunded)
    this.credits.values.refunded!.dataset.units = job.credits.refunded
    this.cancelButton.hidden = done
    this.downloadButton.hidden = !(job.kernel === 'matmul' && job.status === 'completed')
  }

  private renderDetail(detail: JobDetail): void {
    for (const [key, dd] of Object.entries(this.tasks.values))
      dd.textContent = format.count(detail.tasks[key as keyof JobDetail['tasks']] ?? 0)
    for (const [key, dd] of Object.entries(this.verification.values))
      dd.textContent = format.count(detail.verification[key as keyof JobDetail['verification']])
    this.credits.values.throughput!.textContent =
      `${format.count(Math.round(detail.throughput.tasksPerSecond * 100) / 100)} tasks/s, ${format.gflopPerSecond(detail.throughput.gflopPerSecond)} (${format.gflop(detail.flops)} in all)`
    this.credits.values.elapsed!.textContent = format.duration(detail.timings.elapsedMs)
    this.chart.update(detail.history)
    this.render(detail.job)
  }

  private async refreshDetail(): Promise<void> {
    if (this.refreshing) return
    this.refreshing = true
    try {
      const signal = AbortSignal.any([
        this.controller.signal,
        AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      ])
      this.renderDetail(await this.client.jobDetail(this.id, { signal }))
    } catch (err) {
      if (!this.controller.signal.aborted)
        this.say(`Could not read the job’s detail: ${(err as Error).message}`, true)
    } finally {
      this.refreshing = false
    }
  }

  private async cancel(): Promise<void> {
    this.cancelButton.disabled = true
    this.say('Cancelling…')
    try {
      const job = await this.client.cancel(this.id, { signal: AbortSignal.timeout(30_000) })
      this.render(job)
      this.say(
        `Cancelled. ${format.credits(job.credits.refunded)} refunded (${format.credits(job.credits.spent)} spent on accepted results).`,
      )
      this.message.dataset.refunded = job.credits.refunded
    } catch (err) {
      this.say(`Could not cancel: ${(err as Error).message}`, true)
    } finally {
      this.cancelButton.disabled = false
    }
  }

  private async downloadMatmul(): Promise<void> {
    this.downloadButton.disabled = true
    try {
      const signal = AbortSignal.any([
        this.controller.signal,
        AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS),
      ])
      const bytes = encodeNpy(await this.client.matmulOutput(this.id, { signal }))
      saveFile(bytes, `tabswarm-${this.id.slice(0, 8)}-C.npy`)
      this.say(`Downloaded C as a .npy file (${format.count(bytes.byteLength)} bytes).`)
    } catch (err) {
      this.say(`Could not download the result: ${(err as Error).message}`, true)
    } finally {
      this.downloadButton.disabled = false
    }
  }

  /** A custom job's outputs, one download per task output, in task order. */
  private async listOutputs(): Promise<void> {
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(60_000)])
    const results: Array<{ index: number; outputs: TensorRef[] }> = []
    try {
      for await (const result of this.client.job(this.id).resultRefs({ signal }))
        results.push(result)
    } catch {
      // A failed or cancelled job still lists the results it published.
    }
    results.sort((a, b) => a.index - b.index)
    for (const { index, outputs } of results)
      outputs.forEach((ref, j) => {
        const key = `${index}:${j}`
        if (this.listed.has(key)) return
        this.listed.add(key)
        const item = document.createElement('li')
        const button = document.createElement('button')
        button.type = 'button'
        button.dataset.testid = 'job-output'
        const name = `tabswarm-${this.id.slice(0, 8)}-task${index}-output${j}.npy`
        button.textContent = `Task ${index}, output ${j} (${ref.dtype}, ${format.shape(ref.shape)})`
        button.setAttribute('aria-label', `Download ${name}`)
        button.addEventListener('click', async () => {
          try {
            const array = await this.client.downloadTensor(ref, {
              signal: AbortSignal.timeout(5 * 60_000),
            })
            saveFile(encodeNpy(array), name)
          } catch (err) {
            this.say(`Could not download ${name}: ${(err as Error).message}`, true)
          }
        })
        item.append(button)
        this.outputs.append(item)
      })
    this.outputs.hidden = this.listed.size === 0
  }

  private say(text: string, error = false): void {
    this.message.textContent = text
    this.message.classList.toggle('error', error)
  }
}
