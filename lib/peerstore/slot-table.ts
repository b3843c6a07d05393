/**
 * A sparse table of numbered slots with O(1) get/set/delete and O(1) uniform random pick
 * (a map from slot to a position in a dense array; deletion swaps the last element in).
 */
export class SlotTable<T> {
  private readonly positions = new Map<number, number>();
  private readonly slots: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  get(slot: number): T | undefined {
    const at = this.positions.get(slot);
    return at === undefined ? undefined : this.items[at];
  }

  has(slot: number): boolean {
    return this.positions.has(slot);
  }

  set(slot: number, item: T): void {
    const at = this.positions.get(slot);
    if (at !== undefined) {
      this.items[at] = item;
      return;
    }
    this.positions.set(slot, this.items.length);
    this.slots.push(slot);
    this.items.push(item);
  }

  delete(slot: number): boolean {
    const at = this.positions.get(slot);
    if (at === undefined) return false;
    const last = this.items.length - 1;
    if (at !== last) {
      this.items[at] = this.items[last];
      this.slots[at] = this.slots[last];
      this.positions.set(this.slots[at], at);
    }
    this.items.pop();
    this.slots.pop();
    this.positions.delete(slot);
    return true;
  }

  clear(): void {
    this.positions.clear();
    this.slots.length = 0;
    this.items.length = 0;
  }

  /** A uniformly random item; `random` is uniform in [0, 1). */
  pick(random: () => number): T | undefined {
    return this.items.length === 0 ? undefined : this.items[Math.floor(random() * this.items.length)];
  }

  values(): IterableIterator<T> {
    return this.items.values();
  }
}
