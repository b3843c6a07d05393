// How a chain shell drives its sans-IO core: one step, then each output applied in order. A core or an
// output that throws is reported through onError, never thrown out of the event handler that ran it.
export function runCore<O>(step: () => O[], apply: (output: O) => void, onError: (err: unknown) => void): void {
  let outputs: O[];
  try {
    outputs = step();
  } catch (err) {
    onError(err);
    return;
  }
  for (const output of outputs) {
    try {
      apply(output);
    } catch (err) {
      onError(err);
    }
  }
}
