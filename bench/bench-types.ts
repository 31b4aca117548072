/** One measured figure. `vs` is the peer it is compared with, measured in the same run. */
export interface BenchRow {
  case: string
  metric: string
  value: number
  unit: string
  vs?: { name: string; value: number }
}

export interface BenchArea {
  /** File stem under `bench/`: `bench/<name>.md` and `bench/<name>.json`. */
  name: string
  title: string
  run(log: (line: string) => void): Promise<BenchResult>
}

export interface BenchResult {
  rows: BenchRow[]
  /** Area-specific facts about the machine, e.g. the GPU adapter that ran the kernels. */
  machine?: Record<string, unknown>
  /** Caveats a reader must see next to the figures. */
  notes?: string[]
}
