/** The inclusive range an integer setting accepts, and the unit it is counted in. */
export interface IntegerRange {
  min: number
  max: number
  /** Shown after the bounds in errors, e.g. `ms` or `bytes`. */
  unit?: string
}

/**
 * Parses one integer setting (an environment variable or a CLI flag) and checks its range.
 * The error names the setting and the range it accepts, so an operator can fix it from the
 * message alone.
 *
 * @example
 * integerSetting('TABSWARM_UPLOAD_IDLE_MS', '30000', { min: 1_000, max: 600_000, unit: 'ms' })
 */
export function integerSetting(name: string, raw: string, range: IntegerRange): number {
  const value = Number(raw.trim())
  if (raw.trim() === '' || !Number.isSafeInteger(value) || value < range.min || value > range.max)
    throw new Error(
      `${name} must be an integer from ${range.min} to ${range.max}${range.unit ? ` ${range.unit}` : ''}, got "${raw}"`,
    )
  return value
}
