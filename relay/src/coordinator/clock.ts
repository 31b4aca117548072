/** Time source for the coordinator, injected so tests can move time by hand. */
export interface Clock {
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }
