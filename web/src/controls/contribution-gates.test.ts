import { describe, expect, it } from 'vitest'
import { createContributionGates } from './contribution-gates.ts'
import { type ContributorControls, defaultControls } from './controls.ts'
import type { GateSource } from './gate-sources.ts'

/** A source the test sets by hand. */
function fakeSource<T>(initial: T): GateSource<T> & { set(value: T): void } {
  let value = initial
  const listeners = new Set<() => void>()
  return {
    current: () => value,
    subscribe(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
    set(next) {
      value = next
      for (const listener of [...listeners]) listener()
    },
  }
}

function setup(controls: Partial<ContributorControls> = {}) {
  const sources = {
    controls: fakeSource<ContributorControls>({ ...defaultControls(), ...controls }),
    visibility: fakeSource<'visible' | 'hidden'>('visible'),
    idle: fakeSource<'idle' | 'active' | 'unknown'>('unknown'),
    battery: fakeSource<'discharging' | 'charging' | 'unknown'>('unknown'),
  }
  const gates = createContributionGates(sources)
  const patch = (p: Partial<ContributorControls>) =>
    sources.controls.set({ ...sources.controls.current(), ...p })
  return { gates, patch, ...sources }
}

describe('createContributionGates', () => {
  it('is open with the defaults, whatever the tab, the user and the battery do', () => {
    const { gates, visibility, idle, battery } = setup()
    visibility.set('hidden')
    idle.set('active')
    battery.set('discharging')
    expect(gates.reason()).toBeUndefined()
  })

  it('names each closed gate, the pause first', () => {
    const { gates, patch, visibility, idle, battery } = setup()
    patch({ stopOnBattery: true })
    battery.set('discharging')
    expect(gates.reason()).toBe('on battery')
    patch({ idleOnly: true })
    expect(gates.reason()).toBe('idle detection is not allowed yet')
    idle.set('active')
    expect(gates.reason()).toBe('you are not idle')
    patch({ visibleOnly: true })
    visibility.set('hidden')
    expect(gates.reason()).toBe('the tab is hidden')
    patch({ paused: true })
    expect(gates.reason()).toBe('you paused it')

    patch({ paused: false })
    visibility.set('visible')
    idle.set('idle')
    battery.set('charging')
    expect(gates.reason()).toBeUndefined()
  })

  it('does not hold off on battery where the battery is unknown (no API)', () => {
    const { gates } = setup({ stopOnBattery: true })
    expect(gates.reason()).toBeUndefined()
  })

  it('whenOpen resolves at once when open, and only once every gate opens', async () => {
    const { gates, patch, visibility } = setup({ paused: true, visibleOnly: true })
    visibility.set('hidden')
    let opened = false
    const waiting = gates.whenOpen(new AbortController().signal).then(() => {
      opened = true
    })
    patch({ paused: false })
    await Promise.resolve()
    expect(opened).toBe(false)
    visibility.set('visible')
    await waiting
    expect(opened).toBe(true)
    await gates.whenOpen(new AbortController().signal)
  })

  it('whenOpen rejects with the reason of its signal, and stops listening', async () => {
    const { gates, controls } = setup({ paused: true })
    const stop = new AbortController()
    const waiting = gates.whenOpen(stop.signal)
    stop.abort(new Error('stopped'))
    await expect(waiting).rejects.toThrow('stopped')
    // Closing unsubscribes from every source.
    gates.close()
    let told = 0
    gates.subscribe(() => told++)
    controls.set({ ...controls.current(), paused: false })
    expect(told).toBe(0)
  })
})
