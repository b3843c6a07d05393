// The CLI's logger: --log-level LEVEL writes pino's JSON lines to stderr (stdout stays the command's
// output). Without the flag nothing is logged, so existing output is unchanged.
import { pino } from 'pino';
import type { Logger } from '../logger.js';

/** pino's levels; `silent` (the default) logs nothing. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type CliLogLevel = (typeof LOG_LEVELS)[number];

let current: Logger | undefined;

/** The logger set by --log-level, passed to the Manager and the followers; undefined when silent. */
export function cliLogger(): Logger | undefined {
  return current;
}

/** Called once by main() before a command runs. */
export function setCliLogLevel(level: CliLogLevel): void {
  // Synchronous writes: every record is on stderr before the process exits, without a flush step.
  current = level === 'silent' ? undefined : pino({ level }, pino.destination({ dest: 2, sync: true }));
}
