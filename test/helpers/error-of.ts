// The error a synchronous call throws, for table-driven refusal tests that
// assert its `code` and message; fails the test when nothing is thrown.
export function errorOf(run: () => unknown): { code?: string; message?: string } {
  try {
    run();
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected a throw');
}
