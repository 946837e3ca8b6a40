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

/**
 * What an event is, as data, so a checkpoint can re-create it (checkpoint.ts):
 * the component that scheduled it re-makes its handler from this on restore.
 */
export interface EventDesc {
  owner: 'lapic' | 'vmx' | 'ipi' | 'disk' | 'smi';
  /** the owning CPU / local APIC, where there is one per CPU */
  cpu?: number;
  args?: unknown[];
}

/** A pending event in a checkpoint. */
export interface SavedEvent {
  time: number;
  seq: number;
  name: string;
  desc: EventDesc;
}

interface Entry extends EventHandle {
  time: number;
  seq: number;
  pending: boolean;
  name: string;
  fire: (time: number) => void;
  desc?: EventDesc;
}

export class EventQueue {
  private heap: Entry[] = [];
  private seq = 0;
  /** time of the event being fired (or last fired) */
  now = 0;
  /** told of every new event, so the machine can end the running CPU's slice at it */
  onSchedule: ((time: number) => void) | null = null;

  schedule(time: number, name: string, fire: (time: number) => void, desc?: EventDesc): EventHandle {
    if (!Number.isFinite(time)) throw new RangeError(`event ${name}: time must be finite`);
    const seq = this.reviveSeq ?? this.seq++;
    this.reviveSeq = null;
    const e: Entry = { time, seq, pending: true, name, fire, desc };
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

  /** Pending events as data, in firing order (a checkpoint); every one must carry a descriptor. */
  save(): { seq: number; now: number; events: SavedEvent[] } {
    const pending = this.heap.filter((e) => e.pending).sort((a, b) => a.time - b.time || a.seq - b.seq);
    const events = pending.map((e) => {
      if (!e.desc) throw new Error(`event '${e.name}' at ${e.time} cannot be checkpointed (scheduled without a descriptor)`);
      return { time: e.time, seq: e.seq, name: e.name, desc: structuredClone(e.desc) };
    });
    return { seq: this.seq, now: this.now, events };
  }

  /**
   * Start restoring a checkpoint: drop every event (their handles report not
   * pending) and set the clock; the owners then re-schedule the saved events
   * through revive(), which keeps each event's sequence number (the tie-break
   * between equal times), and finally endRestore() sets the counter.
   */
  beginRestore(now: number): void {
    for (const e of this.heap) e.pending = false;
    this.heap = [];
    this.now = now;
  }

  /** Schedule the next event with sequence number `seq` (the owner calls schedule() inside `f`). */
  revive(seq: number, f: () => void): void {
    this.reviveSeq = seq;
    try {
      f();
    } finally {
      this.reviveSeq = null;
    }
  }

  endRestore(seq: number): void {
    this.seq = seq;
  }

  private reviveSeq: number | null = null;

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
