import type { JobSample } from '@tabswarm/protocol'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'

/** The states the chart draws, in the order of their lines, with colours of AA contrast. */
const SERIES = [
  { key: 'queued', label: 'Queued', stroke: '#6b6b6b' },
  { key: 'leased', label: 'Computing', stroke: '#0b57d0' },
  { key: 'awaitingSecondOpinion', label: 'Awaiting a second opinion', stroke: '#8a6100' },
  { key: 'awaitingConfirmation', label: 'Awaiting confirmation', stroke: '#7b3fa0' },
  { key: 'accepted', label: 'Accepted', stroke: '#1e7a34' },
  { key: 'rejected', label: 'Rejected results', stroke: '#b3261e' },
] as const satisfies ReadonlyArray<{ key: keyof JobSample; label: string; stroke: string }>

/**
 * A job's tasks over time by state, drawn with uPlot, and the same figures in words for
 * screen readers (the canvas itself is hidden from them): the latest sample and how many
 * samples the chart holds.
 */
export class TaskChart {
  readonly element: HTMLElement
  private readonly plot: uPlot
  private readonly summary: HTMLElement
  private resize: ResizeObserver

  constructor(title: string) {
    this.element = document.createElement('figure')
    this.element.className = 'task-chart'
    const canvas = document.createElement('div')
    canvas.setAttribute('aria-hidden', 'true')
    const caption = document.createElement('figcaption')
    caption.textContent = title
    this.summary = document.createElement('p')
    this.summary.className = 'visually-hidden'
    this.summary.dataset.testid = 'chart-text'
    this.element.append(caption, canvas, this.summary)
    this.plot = new uPlot(
      {
        width: 600,
        height: 220,
        legend: { show: true, live: false },
        cursor: { show: false },
        scales: { x: { time: true } },
        // Clock times to the second: a small job runs for seconds, not hours.
        axes: [
          {
            space: 70,
            values: (_, splits) =>
              splits.map((s) => new Date(s * 1000).toLocaleTimeString('en-GB', { hour12: false })),
          },
          { label: 'tasks', size: 50 },
        ],
        // Steps, not slopes: a count holds until the next sample changes it.
        series: [
          {},
          ...SERIES.map(({ label, stroke }) => ({
            label,
            stroke,
            width: 2,
            paths: uPlot.paths.stepped!({ align: 1 }),
            points: { show: false },
          })),
        ],
      },
      [[], ...SERIES.map(() => [])],
      canvas,
    )
    this.resize = new ResizeObserver(() => {
      const width = Math.max(240, Math.floor(this.element.clientWidth))
      if (width !== this.plot.width) this.plot.setSize({ width, height: 220 })
    })
    this.resize.observe(this.element)
  }

  /** Draws `samples` (oldest first) and says the latest in words. */
  update(samples: readonly JobSample[]): void {
    this.element.dataset.samples = String(samples.length)
    this.plot.setData([
      samples.map((s) => s.at / 1000),
      ...SERIES.map(({ key }) => samples.map((s) => s[key])),
    ])
    const last = samples.at(-1)
    this.summary.textContent =
      last == null
        ? 'No samples yet.'
        : `Latest of ${samples.length} samples: ${SERIES.map(({ key, label }) => `${label.toLowerCase()} ${last[key]}`).join(', ')}.`
  }

  destroy(): void {
    this.resize.disconnect()
    this.plot.destroy()
  }
}
