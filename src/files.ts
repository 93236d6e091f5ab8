/** File helpers shared by model saving, reports and the CLI. */
import { accessSync, constants, existsSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { check, EdsimError } from './errors.js';

/** Fails early (before any training) when `path` cannot be written. */
export function checkWritable(path: string): void {
  const full = resolve(path);
  if (existsSync(full)) {
    check(!statSync(full).isDirectory(), `cannot write ${path}: it is a directory`);
    try {
      accessSync(full, constants.W_OK);
    } catch {
      throw new EdsimError(`cannot write ${path}: permission denied`);
    }
    return;
  }
  const dir = dirname(full);
  check(existsSync(dir) && statSync(dir).isDirectory(), `cannot write ${path}: directory ${dirname(path)} does not exist`);
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    throw new EdsimError(`cannot write ${path}: directory is not writable`);
  }
}

/** Writes via a temporary file and a rename, so readers never see a partial file. */
export function atomicWrite(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
