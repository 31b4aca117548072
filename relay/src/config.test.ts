import { describe, expect, it } from 'vitest'
import { configFromEnv, OPEN_RELAY_WELCOME_CREDITS, welcomeCreditsFor } from './config.ts'

describe('welcome credits', () => {
  it('are on for an open loopback relay and off for a keyed or wallet one, unless set', () => {
    const unset = configFromEnv({})
    expect(unset.welcomeCredits).toBeUndefined()
    expect(welcomeCreditsFor(unset, true)).toBe(OPEN_RELAY_WELCOME_CREDITS)
    expect(welcomeCreditsFor(unset, false)).toBe(0)
    const set = configFromEnv({ TABSWARM_WELCOME_CREDITS: '500' })
    expect(welcomeCreditsFor(set, false)).toBe(500)
    expect(welcomeCreditsFor(configFromEnv({ TABSWARM_WELCOME_CREDITS: '0' }), true)).toBe(0)
    expect(() => configFromEnv({ TABSWARM_WELCOME_CREDITS: '-1' })).toThrow(
      /TABSWARM_WELCOME_CREDITS must be a non-negative integer/,
    )
  })
})
