/** Exit codes of the `tabswarm` CLI, documented in `tabswarm --help` and the README. */
export const ExitCode = {
  OK: 0,
  /** The job ran but failed or was cancelled, or an unexpected error. */
  FAILURE: 1,
  /** Bad usage or bad input: unknown flag, missing file, malformed .npy, shapes that do not align. */
  BAD_INPUT: 2,
  /** The relay could not be reached. */
  RELAY_UNREACHABLE: 3,
  /**
   * The relay refused this worker for good (banned, a hello it cannot read, a work protocol
   * version it does not speak): retrying cannot help.
   */
  REFUSED: 4,
  /** Interrupted by SIGINT. */
  INTERRUPTED: 130,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]
