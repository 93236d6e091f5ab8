/**
 * Timelines of every thread (`--trace FILE`): each thread appends spans (forward, amine, update,
 * wait, stage) to its own part of one SharedArrayBuffer, so recording costs a few stores and no
 * messages; the coordinator turns them into Chrome Trace Event Format JSON (Perfetto,
 * chrome://tracing). Times are absolute (performance.timeOrigin + now), so threads line up.
 */
export const SPANS = ['forward', 'amine', 'update', 'wait', 'stage'] as const;
export type SpanName = (typeof SPANS)[number];

const RECORD = 3; // float64s per span: name code, start (us since the epoch), duration (us)
const HEADER = 1; // float64s before the spans: how many were recorded

/** Where a thread's spans go: the shared buffer, the thread's index, the spans per thread. */
export interface TraceSpec {
  buffer: SharedArrayBuffer;
  threads: number;
  capacity: number;
}

export function allocateTrace(threads: number, capacity = 50000): TraceSpec {
  return { buffer: new SharedArrayBuffer(threads * (HEADER + RECORD * capacity) * 8), threads, capacity };
}

/** One thread's recorder. Spans past the capacity are dropped (and counted). */
export class TraceRecorder {
  private readonly v: Float64Array;
  private readonly origin = performance.timeOrigin;

  constructor(spec: TraceSpec, thread: number) {
    const per = HEADER + RECORD * spec.capacity;
    this.v = new Float64Array(spec.buffer, thread * per * 8, per);
  }

  /** A span from t0 to t1, both performance.now() of this thread. */
  span(name: SpanName, t0: number, t1: number): void {
    const n = this.v[0]!;
    this.v[0] = n + 1;
    const at = HEADER + RECORD * n;
    if (at + RECORD > this.v.length) return;
    this.v[at] = SPANS.indexOf(name);
    this.v[at + 1] = (this.origin + t0) * 1000;
    this.v[at + 2] = (t1 - t0) * 1000;
  }
}

/** One Chrome Trace Event Format event (a span, "X", or a thread name, "M"). */
export interface TraceEvent {
  /** The span's phase (forward, update, wait, ...) or "thread_name". */
  name: string;
  /** "X": a complete span; "M": metadata. */
  ph: 'X' | 'M';
  /** Process id (always 1). */
  pid: number;
  /** Thread index. */
  tid: number;
  /** Start, microseconds from the first span. */
  ts?: number;
  /** Duration, microseconds. */
  dur?: number;
  /** Batch, layer and other details. */
  args?: Record<string, string | number>;
}

/** Every thread's spans as Chrome trace events (one track per thread, named), times from the first span. */
export function traceEvents(spec: TraceSpec, names: string[]): { events: TraceEvent[]; dropped: number } {
  const per = HEADER + RECORD * spec.capacity;
  const events: TraceEvent[] = [];
  let dropped = 0;
  let first = Infinity;
  const spans: [number, number, number, number][] = [];
  for (let t = 0; t < spec.threads; t++) {
    const v = new Float64Array(spec.buffer, t * per * 8, per);
    const n = Math.min(v[0]!, spec.capacity);
    dropped += v[0]! - n;
    events.push({ name: 'thread_name', ph: 'M', pid: 1, tid: t, args: { name: names[t] ?? `thread ${t}` } });
    for (let i = 0; i < n; i++) {
      const at = HEADER + RECORD * i;
      spans.push([t, v[at]!, v[at + 1]!, v[at + 2]!]);
      first = Math.min(first, v[at + 1]!);
    }
  }
  for (const [tid, code, ts, dur] of spans) events.push({ name: SPANS[code]!, ph: 'X', pid: 1, tid, ts: ts - first, dur });
  return { events, dropped };
}
