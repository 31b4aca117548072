/** Browser-safe contributor entry point, shared by tabs and the headless Node worker. */

export type { ContributorEvent } from './contributor-events.ts'
export type { ContributorOptions, ContributorSummary, KernelExecutor } from './contributor-loop.ts'
export { runContributor } from './contributor-loop.ts'
