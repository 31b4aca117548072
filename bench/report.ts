import { writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { BenchArea, BenchResult } from './bench-types.ts'

function format(value: number): string {
  if (value === 0) return '0'
  const abs = Math.abs(value)
  return abs >= 100 ? value.toFixed(0) : abs >= 1 ? value.toFixed(2) : value.toPrecision(3)
}

function markdown(area: BenchArea, machine: Record<string, unknown>, result: BenchResult): string {
  const lines = [`# Benchmark: ${area.title}`, '', '## Machine', '']
  for (const [key, value] of Object.entries(machine)) lines.push(`- ${key}: ${String(value)}`)
  lines.push(
    '',
    '## Figures',
    '',
    '| case | metric | value | unit | vs | vs value | ratio |',
    '| --- | --- | ---: | --- | --- | ---: | ---: |',
  )
  for (const row of result.rows) {
    const ratio = row.vs && row.vs.value !== 0 ? `${(row.value / row.vs.value).toFixed(2)}x` : ''
    lines.push(
      `| ${row.case} | ${row.metric} | ${format(row.value)} | ${row.unit} | ${row.vs?.name ?? ''} | ${row.vs ? format(row.vs.value) : ''} | ${ratio} |`,
    )
  }
  if (result.notes?.length) {
    lines.push('', '## Notes', '')
    for (const note of result.notes) lines.push(`- ${note}`)
  }
  return `${lines.join('\n')}\n`
}

/** Writes `bench/<area>.md` for people and `bench/<area>.json` for machines. */
export async function writeReport(
  area: BenchArea,
  machine: Record<string, unknown>,
  result: BenchResult,
): Promise<string[]> {
  const dir = new URL('./', import.meta.url)
  const json = fileURLToPath(new URL(`${area.name}.json`, dir))
  const md = fileURLToPath(new URL(`${area.name}.md`, dir))
  const merged = { ...machine, ...result.machine }
  await writeFile(json, `${JSON.stringify({ machine: merged, rows: result.rows }, null, 2)}\n`)
  await writeFile(md, markdown(area, merged, result))
  return [md, json]
}
