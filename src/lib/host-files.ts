/**
 * Host files in directories a sidecar container can write (queue/<instance>/, logs/<instance>/egress/):
 * the sidecar may have put a symlink, a FIFO or a device where the host expects its file. The host
 * never follows a link there (O_NOFOLLOW), never blocks on a FIFO (O_NONBLOCK), and reads or
 * appends only regular files, so a compromised sidecar cannot redirect a write of the CLI (which
 * may run as root) to ~/.bashrc, or hang the dashboard.
 */
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  writeSync,
} from "node:fs";

const { O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } = constants;

export class UnsafeHostFileError extends Error {
  constructor(file: string, why: string) {
    super(`${file}: ${why}; refusing to use it (a sidecar may have replaced it)`);
    this.name = "UnsafeHostFileError";
  }
}

function openRegular(file: string, flags: number, mode?: number): number {
  let fd: number;
  try {
    fd = openSync(file, flags | O_NOFOLLOW | O_NONBLOCK, mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ELOOP")
      throw new UnsafeHostFileError(file, "is a symbolic link");
    throw error;
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new UnsafeHostFileError(file, "is not a regular file");
  }
  return fd;
}

/** Appends to a regular file (created 0600 when missing); a link or special file there throws. */
export function appendHostFile(file: string, text: string): void {
  const fd = openRegular(file, O_WRONLY | O_APPEND | O_CREAT, 0o600);
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** Reads a regular file of at most `maxBytes`; a link, special file or larger file throws. */
export function readHostFile(file: string, maxBytes: number): string {
  const fd = openRegular(file, O_RDONLY);
  try {
    const size = fstatSync(fd).size;
    if (size > maxBytes) throw new UnsafeHostFileError(file, `is larger than ${maxBytes} bytes`);
    const buffer = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, buffer, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/**
 * Hands a host dir to the unprivileged user a sidecar runs as, when this process is root (a
 * non-root CLI owns it already, and its sidecars run as itself).
 */
export function giveDirTo(dir: string, user: { uid: number; gid: number }): void {
  if (process.getuid?.() !== 0 || user.uid === 0) return;
  chownSync(dir, user.uid, user.gid);
}

/**
 * Creates a host dir a sidecar writes through its group (git-gate keeps its image's uid): owned by
 * this process's user, group `gid`, setgid so what the sidecar writes keeps that group, 2770.
 */
export function shareDirWithGroup(dir: string, gid: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chownSync(dir, process.getuid?.() ?? 0, gid);
  chmodSync(dir, 0o2770);
}
