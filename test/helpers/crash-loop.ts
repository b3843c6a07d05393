// Parent side of the SIGKILL crash-loop tests (test/chain/header-store-crash.test.ts, test/peerstore/crash.test.ts):
// children started one ahead so node startup overlaps the previous run, each told "go", killed, and waited for.
// The child side is test/helpers/crash-child.ts.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { Test } from 'tap';

export const STEP_TIMEOUT_MS = 20_000;

export interface CrashChild {
  readonly process: ChildProcessWithoutNullStreams;
  /** Every whole line the child printed on stdout. */
  readonly lines: string[];
  /** Resolves when the child is up and waiting for "go". */
  readonly waiting: Promise<void>;
  /** Resolves when the child has printed "ready …" (opened its store). */
  readonly ready: Promise<void>;
  readonly exited: Promise<NodeJS.Signals | number | null>;
  stderr: string;
}

/**
 * tap re-injects NODE_OPTIONS (its process-info hook) into every spawn, which makes each child start several times
 * slower; `env -u` drops it and then execs node, so the child pid is node's own.
 */
const childEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('_TAPJS_')));

/** Starts `node script ...args` in `cwd`; the child opens its store only when told "go" (see crash-child.ts). */
export function startCrashChild(script: string, args: readonly string[], cwd: string): CrashChild {
  const proc = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, script, ...args], {
    cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: childEnv,
  });
  let onWaiting: () => void = () => {};
  let onReady: () => void = () => {};
  const child: CrashChild = {
    process: proc,
    lines: [],
    stderr: '',
    waiting: new Promise((resolve) => (onWaiting = resolve)),
    ready: new Promise((resolve) => (onReady = resolve)),
    exited: new Promise((resolve) => proc.once('close', (code, signal) => resolve(signal ?? code))),
  };
  let pending = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop() ?? ''; // a partial line is not a report
    for (const line of parts) {
      if (line === 'waiting') onWaiting();
      if (line.startsWith('ready ')) onReady();
    }
    child.lines.push(...parts);
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk: string) => (child.stderr += chunk));
  proc.stdin.on('error', () => {}); // a child killed before reading "go"
  return child;
}

export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
    }),
  ]);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `total` children of one script, topped up to `prestarted` queued before each run takes the first. */
export class CrashChildren {
  readonly #queue: CrashChild[] = [];
  #spawned = 0;

  constructor(
    private readonly script: string,
    private readonly total: number,
    private readonly argsFor: (childNumber: number) => readonly string[],
    private readonly cwd: string,
    private readonly prestarted = 1,
  ) {}

  /** The next child, once it waits for "go". */
  async next(run: number): Promise<CrashChild> {
    while (this.#queue.length < this.prestarted && this.#spawned < this.total) {
      this.#queue.push(startCrashChild(this.script, this.argsFor(++this.#spawned), this.cwd));
    }
    const child = this.#queue.shift()!;
    await within(child.waiting, STEP_TIMEOUT_MS, `child ${run} to start`);
    return child;
  }

  /** For t.teardown: kills every child not handed out yet. */
  killAll(): void {
    for (const c of this.#queue) c.process.kill('SIGKILL');
  }
}

/**
 * SIGKILLs the child and waits for it; true if it died of the kill. A child that had ended before (its own exit or
 * another signal) is a failure of the run, reported on `t`: false.
 */
export async function killCrashChild(t: Test, child: CrashChild, run: number): Promise<boolean> {
  child.process.kill('SIGKILL');
  const ended = await within(child.exited, STEP_TIMEOUT_MS, `child ${run} to die`);
  if (ended === 'SIGKILL') return true;
  t.fail(`run ${run}: child ended with ${String(ended)} before the kill: ${child.stderr}`);
  return false;
}
