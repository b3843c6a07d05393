// Child side of the crash-loop tests (parent side: test/helpers/crash-loop.ts).

/**
 * Prints "waiting" and resolves on the first line from stdin, so the parent can start a child ahead and let it open
 * its store only once the previous child is dead. Exits if stdin ends first (the parent is gone).
 */
export function waitForGo(): Promise<void> {
  process.stdout.write('waiting\n');
  return new Promise<void>((resolve) => {
    const gone = (): never => process.exit(0);
    process.stdin.once('end', gone);
    process.stdin.once('data', () => {
      process.stdin.off('end', gone);
      process.stdin.pause();
      resolve();
    });
  });
}
