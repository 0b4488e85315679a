/** The CLI's usage mistake (an unknown option, a bad value): printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {}
