// A command line that cannot be run as typed (unknown command or option, a
// missing required option). The CLI exits 2 for these, 1 for everything else.
export class UsageError extends Error {
  readonly code = 'usage_error';

  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
