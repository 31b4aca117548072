import type { ComputeHour } from '@tabswarm/protocol'
import uPlot from 'uplot'
import * as format from '../dashboard/format.ts'
import 'uplot/dist/uPlot.min.css'

/**
 * GFLOP of verified work per hour, as bars, with a table of the same figures for screen
 * readers (the canvas is hidden from them).
 */
export class HourlyChart {
  private readonly plot: uPlot
  private readonly table: HTMLTableElement
  private readonly resize: ResizeObserver

  private readonly container: HTMLElement

  constructor(container: HTMLElement) {
    this.container = container
    const figure = document.createElement('figure')
    figure.className = 'task-chart'
    const caption = document.createElement('figcaption')
    caption.textContent = 'GFLOP computed per hour (UTC), the last 24 hours'
    const canvas = document.createElement('div')
    canvas.setAttribute('aria-hidden', 'true')
    this.table = document.createElement('table')
    this.table.className = 'visually-hidden'
    this.table.dataset.testid = 'hourly-table'
    figure.append(caption, canvas, this.table)
    container.append(figure)
    this.plot = new uPlot(
      {
        width: 600,
        height: 220,
        legend: { show: false },
        cursor: { show: false },
        // Hours are UTC hours: said so in the caption, drawn so on the axis.
        tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC'),
        // Half an hour either side, so the first and last bars are whole.
        scales: { x: { time: true, range: (_, min, max) => [min - 1800, max + 1800] } },
        axes: [
          {},
          // Small swarms do fractions of a GFLOP an hour: ticks keep three significant digits.
          { label: 'GFLOP', size: 60, values: (_, ticks) => ticks.map(format.amount) },
        ],
        series: [
          {},
          {
            label: 'GFLOP',
            stroke: '#0b57d0',
            fill: 'rgba(11, 87, 208, 0.25)',
            paths: uPlot.paths.bars!({ size: [0.8, 40] }),
            points: { show: false },
          },
        ],
      },
      [[], []],
      canvas,
    )
    this.resize = new ResizeObserver(() => {
      const width = Math.max(240, Math.floor(figure.clientWidth))
      if (width !== this.plot.width) this.plot.setSize({ width, height: 220 })
    })
    this.resize.observe(figure)
  }

  update(hours: readonly ComputeHour[]): void {
    this.container.dataset.hours = String(hours.length)
    this.plot.setData([hours.map((h) => h.hour / 1000), hours.map((h) => h.gflop)])
    const head =
      '<caption>GFLOP per hour</caption><tr><th scope="col">Hour (UTC)</th><th scope="col">GFLOP</th><th scope="col">Tasks</th></tr>'
    this.table.innerHTML = head
    for (const h of hours) {
      const row = this.table.insertRow()
      row.insertCell().textContent = new Date(h.hour).toISOString().slice(11, 16)
      row.insertCell().textContent = format.amount(h.gflop)
      row.insertCell().textContent = String(h.tasks)
    }
  }
}
