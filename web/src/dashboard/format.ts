/** Numbers as the dashboard writes them: plain words, units spelled out. */

const integer = new Intl.NumberFormat('en')
const decimal = new Intl.NumberFormat('en', { maximumFractionDigits: 2 })
const small = new Intl.NumberFormat('en', { maximumSignificantDigits: 3 })

/** Two decimals at most, or three significant digits below 1 (a small job's 0.0011 GFLOP). */
export const amount = (n: number): string =>
  (n !== 0 && Math.abs(n) < 1 ? small : decimal).format(n)

/** 1,234 */
export const count = (n: number): string => integer.format(n)

/** "1 task", "3 tasks". */
export const plural = (n: number, one: string, many = `${one}s`): string =>
  `${count(n)} ${n === 1 ? one : many}`

/** Floating-point operations as GFLOP. */
export const gflop = (flops: number): string => `${amount(flops / 1e9)} GFLOP`

/** A rate in GFLOP/s. */
export const gflopPerSecond = (rate: number): string => `${amount(rate)} GFLOP/s`

/** Ledger credits, exact (decimal strings may pass 2^53). */
export const credits = (units: string | bigint): string => {
  const value = BigInt(units)
  return `${value.toLocaleString('en')} ${value === 1n ? 'credit' : 'credits'}`
}

/** A duration in words: "850 ms", "12.3 s", "4 min 5 s". */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${decimal.format(ms / 1000)} s`
  const minutes = Math.floor(ms / 60_000)
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`
}

/** A tensor's shape: "64 × 32". */
export const shape = (dims: readonly number[]): string => dims.join(' × ') || 'scalar'
