import { formatUnits } from 'viem'

/**
 * An amount of token base units as the token's decimal figure and symbol, exactly: digits
 * are moved, never rounded through a float (`1234500000000000000n`, 18 decimals, `TSC` →
 * `1.2345 TSC`). The page and the CLI print every figure through it.
 *
 * @example
 * formatAmount(10n ** 18n / 4n, { decimals: 18, symbol: 'TSC' }) // '0.25 TSC'
 */
export function formatAmount(units: bigint, token: { decimals: number; symbol: string }): string {
  return `${formatUnits(units, token.decimals)} ${token.symbol}`
}
