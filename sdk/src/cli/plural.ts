/**
 * `1 tile`, `2 tiles`, `0 tasks`: a count with its noun, for every count the CLI prints.
 * English plurals the CLI needs are regular, or given.
 *
 * @example
 * plural(1, 'tile') // '1 tile'
 * plural(3, 'tile') // '3 tiles'
 */
export function plural(count: number | bigint | string, noun: string, nouns = `${noun}s`): string {
  return `${count} ${String(count) === '1' ? noun : nouns}`
}
