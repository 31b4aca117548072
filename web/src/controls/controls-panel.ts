import './controls.css'
import type { ContributionGates } from './contribution-gates.ts'
import { MAX_MEMORY_CAP_MIB, MIN_MEMORY_CAP_MIB } from './controls.ts'
import type { BatterySource, IdleSource } from './gate-sources.ts'
import type { LiveControls } from './live-controls.ts'

/** Options of `renderControlsPanel`. */
export interface ControlsPanelOptions {
  /** Where the panel goes: the page's `<section id="controls">`, or the widget's shadow root. */
  container: HTMLElement
  controls: LiveControls
  gates: ContributionGates
  idle: IdleSource
  battery: BatterySource
  /** Stops the panel's listeners and the idle detector. */
  signal: AbortSignal
}

/** What the panel says while no gate is closed. */
const OPEN_TEXT = 'Takes work whenever it runs.'

/**
 * Renders the contributor's controls into `container` (and unhides it), each one wired to
 * the live controls, which remember it. Everything is a native form control with a label,
 * so it works from the keyboard and reads right to a screen reader; the gate line is a
 * polite live region that says why no work is taken ("paused: the tab is hidden").
 */
export function renderControlsPanel(options: ControlsPanelOptions): void {
  const { container, controls, gates, idle, battery, signal } = options
  const doc = container.ownerDocument
  const make = <K extends keyof HTMLElementTagNameMap>(
    tag: K,
    props: Partial<HTMLElementTagNameMap[K]> & { testId?: string } = {},
  ): HTMLElementTagNameMap[K] => {
    const { testId, ...rest } = props
    const element = Object.assign(doc.createElement(tag), rest)
    if (testId) element.dataset.testid = testId
    return element
  }
  const row = (...children: (Node | string)[]) => {
    const label = make('label', { className: 'ts-controls__row' })
    label.append(...children)
    return label
  }
  const note = (testId: string) => make('p', { className: 'ts-controls__note', testId })

  container.classList.add('ts-controls')
  container.replaceChildren()
  const title = make('h2', { id: 'controls-title', textContent: 'Controls' })
  const gate = make('p', { className: 'ts-controls__gate', testId: 'controls-gate' })
  gate.setAttribute('role', 'status')
  gate.setAttribute('aria-live', 'polite')
  const pause = make('button', { type: 'button', testId: 'controls-pause' })

  const share = make('input', {
    type: 'range',
    min: '10',
    max: '100',
    step: '5',
    testId: 'controls-gpu-share',
  })
  const shareOut = make('output', { testId: 'controls-gpu-share-value' })
  const visibleOnly = make('input', { type: 'checkbox', testId: 'controls-visible-only' })
  const idleOnly = make('input', { type: 'checkbox', testId: 'controls-idle-only' })
  const idleNote = note('controls-idle-note')
  const onBattery = make('input', { type: 'checkbox', testId: 'controls-stop-on-battery' })
  const batteryNote = note('controls-battery-note')
  const memoryCap = make('input', {
    type: 'number',
    min: String(MIN_MEMORY_CAP_MIB),
    max: String(MAX_MEMORY_CAP_MIB),
    step: '1',
    placeholder: 'no cap',
    inputMode: 'numeric',
    testId: 'controls-memory-cap',
  })
  const memoryNote = note('controls-memory-note')
  memoryNote.textContent = `The largest GPU buffer a task may use, ${MIN_MEMORY_CAP_MIB} MiB or more; empty for no cap. The relay leases nothing larger.`
  const custom = make('input', { type: 'checkbox', testId: 'controls-custom-kernels' })

  container.append(
    title,
    gate,
    pause,
    row('GPU share ', share, ' ', shareOut),
    row(visibleOnly, ' Run only while this tab is visible'),
    row(idleOnly, ' Run only while I am away from the computer'),
    idleNote,
    row(onBattery, ' Stop while on battery'),
    batteryNote,
    row('Memory cap (MiB) ', memoryCap),
    memoryNote,
    row(custom, " Run researchers' own kernels (custom WGSL), not only the built-in ones"),
  )
  container.setAttribute('aria-labelledby', 'controls-title')
  container.hidden = false

  if (!idle.supported) {
    idleOnly.disabled = true
    idleNote.textContent =
      'This browser cannot tell when you are away (it has no Idle Detection API; Chrome and Edge do).'
    if (controls.current().idleOnly) controls.update({ idleOnly: false })
  } else {
    idleNote.textContent =
      'Asks your permission to detect when you are away (1 minute without input).'
  }
  if (!battery.supported) {
    onBattery.disabled = true
    batteryNote.textContent =
      'This browser does not say whether it runs on battery (no Battery Status API), so this cannot apply.'
    if (controls.current().stopOnBattery) controls.update({ stopOnBattery: false })
  } else {
    batteryNote.hidden = true
  }

  /** Shows the controls and the gate as they are now. */
  const show = () => {
    const c = controls.current()
    pause.textContent = c.paused ? 'Resume' : 'Pause'
    pause.setAttribute('aria-pressed', String(c.paused))
    share.value = String(Math.round(c.gpuShare * 100))
    shareOut.value = `${share.value} %`
    share.setAttribute('aria-valuetext', `${share.value} percent`)
    visibleOnly.checked = c.visibleOnly
    idleOnly.checked = c.idleOnly
    onBattery.checked = c.stopOnBattery
    if (doc.activeElement !== memoryCap)
      memoryCap.value = c.memoryCapMiB == null ? '' : String(c.memoryCapMiB)
    custom.checked = c.customKernels
    const reason = gates.reason()
    gate.textContent = reason ? `paused: ${reason}` : OPEN_TEXT
    gate.dataset.open = String(reason === undefined)
    container.dataset.gate = reason ?? 'open'
  }
  const unsubscribe = [controls.subscribe(show), gates.subscribe(show)]
  signal.addEventListener(
    'abort',
    () => {
      for (const off of unsubscribe) off()
    },
    { once: true },
  )

  const on = <E extends HTMLElement>(element: E, type: string, listener: () => void) =>
    element.addEventListener(type, listener, { signal })
  on(pause, 'click', () => controls.update({ paused: !controls.current().paused }))
  on(share, 'input', () => controls.update({ gpuShare: Number(share.value) / 100 }))
  on(visibleOnly, 'change', () => controls.update({ visibleOnly: visibleOnly.checked }))
  on(onBattery, 'change', () => controls.update({ stopOnBattery: onBattery.checked }))
  on(custom, 'change', () => controls.update({ customKernels: custom.checked }))
  on(memoryCap, 'change', () => {
    const text = memoryCap.value.trim()
    const value = Number(text)
    if (text === '') {
      memoryCap.setCustomValidity('')
      controls.update({ memoryCapMiB: null })
    } else if (
      Number.isInteger(value) &&
      value >= MIN_MEMORY_CAP_MIB &&
      value <= MAX_MEMORY_CAP_MIB
    ) {
      memoryCap.setCustomValidity('')
      controls.update({ memoryCapMiB: value })
    } else {
      memoryCap.setCustomValidity(
        `Enter a whole number of MiB from ${MIN_MEMORY_CAP_MIB} to ${MAX_MEMORY_CAP_MIB}, or leave it empty for no cap.`,
      )
      memoryCap.reportValidity()
    }
  })
  on(idleOnly, 'change', () => {
    if (!idleOnly.checked) return controls.update({ idleOnly: false })
    controls.update({ idleOnly: true })
    // Started from the click: the permission prompt needs the user's gesture.
    idle.start(signal).then(
      () => {
        idleNote.textContent = 'Runs once you have been away for a minute.'
      },
      (err: Error) => {
        controls.update({ idleOnly: false })
        idleNote.textContent = err.message
      },
    )
  })
  // Remembered from an earlier visit: a permission already granted needs no new click.
  if (idle.supported && controls.current().idleOnly) {
    idle.start(signal).catch(() => {
      idleNote.textContent =
        'Idle detection needs your permission again: untick and tick the box to allow it.'
    })
  }
  show()
}
