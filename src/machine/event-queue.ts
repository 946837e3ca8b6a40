/**
 * The one virtual-time event queue of a machine. Time is in CPU cycles (a JS
 * number is exact to 2^53 cycles, ~39 days at 2.67 GHz). Events with equal
 * time fire in scheduling order (a sequence number breaks ties), so a run is
 * deterministic. Nothing here reads the wall clock.
 */
export interface EventHandle {
  readonly time: number;
  /** false once fired or cancelled */
  readonly pending: boolean;
}

interface Entry extends EventHandle {
  time: number;
  seq: number;
  pending: boolean;
  name: string;
  fire: (time: number) => void;
}

export class EventQueue {
  private heap: Entry[] = [];
  private seq = 0;
  /** time of the event being fired (or last fired) */
  now = 0;
  /** told of every new event, so the machine can end the running CPU's slice at it */
  onSchedule: ((time: number) => void) | null = null;

  schedule(time: number, name: string, fire: (time: number) => void): EventHandle {
    if (!Number.isFinite(time)) throw new RangeError(`event ${name}: time must be finite`);
    const e: Entry = { time, seq: this.seq++, pending: true, name, fire };
    this.push(e);
    this.onSchedule?.(time);
    return e;
  }

  cancel(h: EventHandle | null | undefined): void {
    if (h && h.pending) (h as Entry).pending = false; // lazily dropped when it reaches the top
  }

  /** Time of the earliest pending event, Infinity if none. */
  nextTime(): number {
    this.dropCancelled();
    return this.heap.length ? this.heap[0].time : Infinity;
  }

  /** Fire the earliest pending event. Returns false if there was none. */
  fireNext(): boolean {
    this.dropCancelled();
    const e = this.heap.length ? this.popTop() : undefined;
    if (!e) return false;
    e.pending = false;
    this.now = e.time;
    e.fire(e.time);
    return true;
  }

  get size(): number {
    return this.heap.filter((e) => e.pending).length;
  }

  /** Pending events in firing order (for the debugger and checkpoints). */
  list(): { time: number; name: string }[] {
    return this.heap
      .filter((e) => e.pending)
      .sort((a, b) => a.time - b.time || a.seq - b.seq)
      .map((e) => ({ time: e.time, name: e.name }));
  }

  private dropCancelled(): void {
    while (this.heap.length && !this.heap[0].pending) this.popTop();
  }

  private less(a: Entry, b: Entry): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private popTop(): Entry {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}
