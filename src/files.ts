/** File helpers shared by model saving, reports and the CLI. */
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { check, EdsimError } from './errors.js';

/**
 * Fails early (before any training) when `path` cannot be written: besides the directory and
 * permission checks, a real probe (open for appending, or create and remove), since a directory
 * like /proc passes access() checks and refuses the write only at the end of a run. `flag` names
 * where the path came from (e.g. `--save`) in the message for an empty one.
 */
export function checkWritable(path: string, flag?: string): void {
  check(path.trim() !== '', `${flag ?? 'a file to write'} needs a file name, got an empty one`);
  const full = resolve(path);
  if (existsSync(full)) {
    check(!statSync(full).isDirectory(), `cannot write ${path}: it is a directory`);
    check(statSync(full).isFile(), `cannot write ${path}: not a regular file`);
    probe(path, () => closeSync(openSync(full, 'a')));
    return;
  }
  const dir = dirname(full);
  check(existsSync(dir) && statSync(dir).isDirectory(), `cannot write ${path}: directory ${dirname(path)} does not exist`);
  probe(path, () => {
    closeSync(openSync(full, 'wx'));
    unlinkSync(full);
  });
}

function probe(path: string, write: () => void): void {
  try {
    write();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new EdsimError(`cannot write ${path}: ${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : code === 'ENOENT' ? 'the file system there takes no new files' : (code ?? 'write failed')}`);
  }
}

/** V8's longest string (2^29 - 24 UTF-16 units): a text file edsim parses whole cannot be larger. */
export const MAX_TEXT_BYTES = 2 ** 29 - 24;

/**
 * Reads a whole file after checking it is one: it exists, is a regular file (a device such as
 * /dev/zero, a FIFO or a directory would hang or fail late) and holds at most `maxBytes`. Every
 * failure is one line naming `what` (e.g. "model file") and the path.
 */
export function readChecked(path: string, what: string, maxBytes: number): Buffer;
export function readChecked(path: string, what: string, maxBytes: number, encoding: 'utf8'): string;
export function readChecked(path: string, what: string, maxBytes: number, encoding?: 'utf8'): Buffer | string {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new EdsimError(`cannot read ${what} ${path}: no such file`);
  }
  check(!st.isDirectory(), `cannot read ${what} ${path}: it is a directory`);
  check(st.isFile(), `cannot read ${what} ${path}: not a regular file`);
  check(st.size <= maxBytes, `cannot read ${what} ${path}: ${st.size} bytes, more than the ${maxBytes} a ${what} may hold`);
  try {
    return encoding ? readFileSync(path, encoding) : readFileSync(path);
  } catch (e) {
    throw new EdsimError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? 'read failed'}`);
  }
}

/** Test hook: holds the process between writing the temporary file and renaming it (EDSIM_TEST_CHECKPOINT_PAUSE_MS). */
function testPause(): void {
  const ms = Number(process.env.EDSIM_TEST_CHECKPOINT_PAUSE_MS ?? 0);
  if (ms > 0) {
    process.stderr.write('edsim-test: checkpoint written, not yet renamed\n');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  }
}

/**
 * Writes `data` to `path` so that, whatever happens (SIGKILL, a full disk, a power cut), the path
 * holds either the previous file or the new one, whole: a temporary file in the same directory,
 * flushed to disk, renamed over the path, and the directory flushed. A failure is one line naming
 * `what` (e.g. "checkpoint"); temporary files that killed writers left behind are removed.
 */
export function atomicWrite(path: string, data: string | Uint8Array, what = 'file'): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    testPause();
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch { /* never created */ }
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOSPC' ? 'no space left on device' : code === 'EDQUOT' ? 'disk quota exceeded' : code === 'EACCES' ? 'permission denied' : (code ?? (e as Error).message);
    throw new EdsimError(`cannot write ${what} ${path}: ${why}; the previous ${what}, if any, is intact`);
  }
  try {
    const dfd = openSync(dirname(path), 'r');
    fsyncSync(dfd);
    closeSync(dfd);
  } catch { /* some file systems cannot fsync a directory; the rename is still atomic */ }
  removeStaleTemps(path);
}

/** Removes `path`.PID.tmp files whose writer is no longer running. */
function removeStaleTemps(path: string): void {
  const base = basename(path);
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    const m = name.startsWith(`${base}.`) ? /^\.(\d+)\.tmp$/.exec(name.slice(base.length)) : null;
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
      continue; // a live process is writing it
    } catch { /* no such process: stale */ }
    try {
      unlinkSync(join(dirname(path), name));
    } catch { /* gone already */ }
  }
}
