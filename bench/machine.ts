import { cpus, platform, release, totalmem } from 'node:os'

/** The facts that decide whether two bench files can be compared. */
export function describeMachine(): Record<string, unknown> {
  const cpu = cpus()
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    os: `${platform()} ${release()}`,
    node: process.version,
    date: new Date().toISOString(),
  }
}
