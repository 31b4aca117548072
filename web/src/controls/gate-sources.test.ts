import { describe, expect, it } from 'vitest'
import { batteryStatus, IDLE_THRESHOLD_MS, idleDetection } from './gate-sources.ts'

describe('batteryStatus', () => {
  it('is unsupported and unknown without navigator.getBattery', () => {
    const battery = batteryStatus({})
    expect(battery.supported).toBe(false)
    expect(battery.current()).toBe('unknown')
  })

  it('follows the battery manager, telling listeners of each change', async () => {
    const manager = Object.assign(new EventTarget(), { charging: true })
    const battery = batteryStatus({ getBattery: async () => manager })
    let told = 0
    battery.subscribe(() => told++)
    await new Promise((r) => setTimeout(r, 0))
    expect(battery.current()).toBe('charging')
    manager.charging = false
    manager.dispatchEvent(new Event('chargingchange'))
    expect(battery.current()).toBe('discharging')
    expect(told).toBe(2)
  })
})

describe('idleDetection', () => {
  it('is unsupported without IdleDetector, and says so when started', async () => {
    const idle = idleDetection({})
    expect(idle.supported).toBe(false)
    await expect(idle.start(new AbortController().signal)).rejects.toThrow('no Idle Detection API')
  })

  it('asks permission, names the fix when refused, and follows the detector once granted', async () => {
    let permission: 'granted' | 'denied' = 'denied'
    const started: number[] = []
    class FakeDetector extends EventTarget {
      userState: 'active' | 'idle' | null = 'active'
      static last: FakeDetector | undefined
      static requestPermission = async () => permission
      async start(options: { threshold: number }) {
        started.push(options.threshold)
        FakeDetector.last = this
      }
    }
    const idle = idleDetection({ IdleDetector: FakeDetector })
    expect(idle.supported).toBe(true)
    await expect(idle.start(new AbortController().signal)).rejects.toThrow('site settings')
    expect(idle.current()).toBe('unknown')

    permission = 'granted'
    await idle.start(new AbortController().signal)
    expect(started).toEqual([IDLE_THRESHOLD_MS])
    expect(idle.current()).toBe('active')
    let told = 0
    idle.subscribe(() => told++)
    FakeDetector.last!.userState = 'idle'
    FakeDetector.last!.dispatchEvent(new Event('change'))
    expect(idle.current()).toBe('idle')
    expect(told).toBe(1)
  })
})
