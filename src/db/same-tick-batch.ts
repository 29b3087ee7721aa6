// Gathers the calls made in one synchronous run (say, the three lookups an
// introspection starts with Promise.all) into one call of `run`, so that
// they cost one statement instead of one each. A call waits one microtask
// for the others, nothing more: calls that come after an await go into the
// next batch.

interface Waiting<Input, Output> {
  readonly input: Input;
  resolve(output: Output): void;
  reject(error: unknown): void;
}

/**
 * `run` answers a batch of inputs with one output each, in the same order;
 * if it fails, every call of the batch fails with its error.
 */
export function batchSameTick<Input, Output>(run: (inputs: readonly Input[]) => Promise<readonly Output[]>): (input: Input) => Promise<Output> {
  let waiting: Waiting<Input, Output>[] | undefined;

  function flush(): void {
    const batch = waiting!;
    waiting = undefined;
    run(batch.map((call) => call.input)).then(
      (outputs) => batch.forEach((call, i) => call.resolve(outputs[i]!)),
      (error: unknown) => batch.forEach((call) => call.reject(error)),
    );
  }

  return (input) =>
    new Promise<Output>((resolve, reject) => {
      if (!waiting) {
        waiting = [];
        queueMicrotask(flush);
      }
      waiting.push({ input, resolve, reject });
    });
}
