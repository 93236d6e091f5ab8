/**
 * The safetensors file format (https://huggingface.co/docs/safetensors), written and read here:
 * 8 bytes holding the header's length N (unsigned, little-endian), N bytes of JSON mapping each
 * tensor's name to { dtype, shape, data_offsets: [begin, end] } (offsets into the data that follows)
 * plus an optional "__metadata__" map of strings, then the tensors' bytes, little-endian, row-major.
 * No npm package for the format is maintained (the one named `safetensors` is a 0.0.1 stub), and
 * the format is this small.
 */
import { check, EdsimError } from './errors.js';

/** The dtypes edsim writes and reads (the format has more: edsim's weights are float32 or float64). */
export type TensorDtype = 'F64' | 'F32' | 'I32' | 'U32';

/** One tensor: its dtype, shape and values (row-major). */
export interface Tensor {
  /** The element type. */
  dtype: TensorDtype;
  /** Dimensions, outermost first. */
  shape: number[];
  /** The values, row-major, in an array of the dtype's type. */
  data: Float64Array | Float32Array | Int32Array | Uint32Array;
}

/** A parsed safetensors file. */
export interface SafetensorsFile {
  /** Tensors by name, in the file's order. */
  tensors: Map<string, Tensor>;
  /** The header's __metadata__ (strings only, as the format requires). */
  metadata: Record<string, string>;
}

const SIZE: Record<TensorDtype, number> = { F64: 8, F32: 4, I32: 4, U32: 4 };
const ARRAY = { F64: Float64Array, F32: Float32Array, I32: Int32Array, U32: Uint32Array } as const;
/** The reference implementation refuses larger headers; so does edsim. */
const MAX_HEADER = 100_000_000;

/** Whether `buf` starts as a safetensors file does: an 8-byte length, then the JSON header's '{'. */
export function isSafetensors(buf: Uint8Array): boolean {
  return buf.length >= 9 && buf[8] === 0x7b;
}

/** Serialises tensors (in the order given) and string metadata; the header is padded with spaces to 8 bytes. */
export function encodeSafetensors(tensors: Map<string, Tensor> | [string, Tensor][], metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const entries = [...tensors];
  for (const [name, t] of entries) {
    check(name !== '__metadata__', 'a tensor may not be named __metadata__');
    check(t.data.length === t.shape.reduce((a, b) => a * b, 1), `tensor ${name}: shape ${JSON.stringify(t.shape)} does not hold ${t.data.length} values`);
    check(t.data instanceof ARRAY[t.dtype], `tensor ${name}: data is not ${t.dtype}`);
    const bytes = t.data.length * SIZE[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.alloc(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  let at = 8 + json.length;
  for (const [, t] of entries) {
    const src = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    src.copy(out, at); // this machine and every platform Node supports here are little-endian
    at += src.length;
  }
  return out;
}

/**
 * Parses a safetensors file, checking what the specification requires (a header that is a JSON
 * object; known dtypes; offsets that tile the data exactly). `where` names the file in errors.
 */
export function decodeSafetensors(buf: Uint8Array, where: string): SafetensorsFile {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  check(b.length >= 8, `${where} is not a safetensors file: ${b.length} bytes, shorter than its 8-byte header length`);
  const n = b.readBigUInt64LE(0);
  check(n <= BigInt(Math.min(MAX_HEADER, b.length - 8)), `${where} is not a safetensors file (or is truncated): its header claims ${n} bytes, the file holds ${b.length - 8} after the length`);
  let header: unknown;
  try {
    header = JSON.parse(b.subarray(8, 8 + Number(n)).toString('utf8'));
  } catch {
    throw new EdsimError(`${where} is not a safetensors file (or is corrupt): its header is not valid JSON`);
  }
  check(header !== null && typeof header === 'object' && !Array.isArray(header), `${where} is not a safetensors file: its header is not a JSON object`);
  const data = b.subarray(8 + Number(n));
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, v] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      check(v !== null && typeof v === 'object' && Object.values(v).every((s) => typeof s === 'string'), `${where}: __metadata__ must map names to strings`);
      metadata = v as Record<string, string>;
      continue;
    }
    const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    check(t && typeof t === 'object', `${where}: tensor ${name} has no description`);
    check(typeof t.dtype === 'string' && t.dtype in SIZE, `${where}: tensor ${name} has dtype ${String(t.dtype)}; edsim reads ${Object.keys(SIZE).join(', ')}`);
    const dtype = t.dtype as TensorDtype;
    check(Array.isArray(t.shape) && t.shape.every((d) => Number.isSafeInteger(d) && d >= 0), `${where}: tensor ${name} has an invalid shape`);
    const shape = t.shape as number[];
    const off = t.data_offsets as number[];
    check(Array.isArray(off) && off.length === 2 && off.every((o) => Number.isSafeInteger(o) && o >= 0) && off[0]! <= off[1]!, `${where}: tensor ${name} has invalid data_offsets`);
    const count = shape.reduce((a, d) => a * d, 1);
    check(off[1]! - off[0]! === count * SIZE[dtype], `${where}: tensor ${name} spans ${off[1]! - off[0]!} bytes, but ${JSON.stringify(shape)} ${dtype} needs ${count * SIZE[dtype]}`);
    check(off[1]! <= data.length, `${where} is truncated: tensor ${name} ends at byte ${off[1]} of a ${data.length}-byte data section`);
    spans.push([off[0]!, off[1]!, name]);
    const bytes = new Uint8Array(count * SIZE[dtype]);
    bytes.set(data.subarray(off[0]!, off[1]!));
    tensors.set(name, { dtype, shape, data: new ARRAY[dtype](bytes.buffer) });
  }
  spans.sort((x, y) => x[0] - y[0]);
  let end = 0;
  for (const [s, e, name] of spans) {
    check(s === end, `${where}: tensor ${name}'s data ${s === e ? 'is misplaced' : 'overlaps another or leaves a gap'} (offsets must tile the data section)`);
    end = e;
  }
  check(end === data.length, `${where}: ${data.length - end} bytes after the last tensor (the data section must be exactly the tensors)`);
  return { tensors, metadata };
}
