// The listeners a chain shell attaches in start() (to the Manager, or to another follower) and takes
// off together in stop(), so no shell keeps its own list of detach closures.

/** Anything with eventemitter3's on/off. */
interface Subscribable<E extends string> {
  on(event: E, fn: never): unknown;
  off(event: E, fn: never): unknown;
}

export class Listeners {
  private readonly offs: (() => void)[] = [];

  /** Listen to one event until offAll(). */
  on<E extends string>(emitter: Subscribable<E>, event: E, fn: (...args: never[]) => void): void {
    emitter.on(event, fn as never);
    this.offs.push(() => emitter.off(event, fn as never));
  }

  offAll(): void {
    for (const off of this.offs.splice(0)) off();
  }
}
