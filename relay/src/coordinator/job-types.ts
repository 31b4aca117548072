/**
 * Job, lease and result types, re-exported from the facade (`coordinator-api.ts`) where they
 * are defined, for modules that imported them from here.
 */
export type {
  JobEvent,
  JobStatus,
  JobView,
  LeaseGrant,
  ResultOutcome,
} from './coordinator-api.ts'
