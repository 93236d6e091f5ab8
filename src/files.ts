/** File helpers shared by model saving, reports and the CLI. */
import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { check, EdsimError } from './errors.js';

/**
 * Fails early (before any training) when `path` cannot be written: besides the directory and
 * permission checks, a real probe (open for appending, or create and remove), since a directory
 * like /proc passes access() checks and refuses the write only at the end of a run.
 */
export function checkWritable(path: string): void {
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

/** Writes via a temporary file and a rename, so readers never see a partial file. */
export function atomicWrite(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
