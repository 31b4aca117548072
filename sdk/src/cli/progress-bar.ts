/** A one-line progress bar on a TTY; silent elsewhere, so logs and pipes stay clean. */
export interface ProgressBar {
  update(done: number, total: number, note?: string): void
  /** Clears the line (or ends it) so the next output starts fresh. */
  done(): void
}

const WIDTH = 28
/** Redraws at most this often; a job can accept thousands of tasks a second. */
const MIN_INTERVAL_MS = 100

/**
 * Draws `label [#######.......]  42/100  note` on `stream` when it is a terminal.
 *
 * @example
 * const bar = createProgressBar(process.stderr, 'tiles')
 * bar.update(3, 10)
 * bar.done()
 */
export function createProgressBar(
  stream: NodeJS.WriteStream,
  label: string,
  { enabled = stream.isTTY === true }: { enabled?: boolean } = {},
): ProgressBar {
  let last = 0
  let lastNote: string | undefined
  let drawn = false
  return {
    update(done, total, note) {
      if (!enabled) return
      const now = performance.now()
      // A new note (what the job waits for) is drawn at once; counts are throttled.
      if (done < total && note === lastNote && now - last < MIN_INTERVAL_MS) return
      last = now
      lastNote = note
      const fraction = total > 0 ? Math.min(1, done / total) : 0
      const filled = Math.round(fraction * WIDTH)
      const bar = `${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}`
      stream.write(`\r\x1b[2K${label} [${bar}] ${done}/${total}${note ? `  ${note}` : ''}`)
      drawn = true
    },
    done() {
      if (drawn) stream.write('\n')
      drawn = false
    },
  }
}
