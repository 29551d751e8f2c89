import { createHash } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { newOwnerId } from '../shared/ids.js';

/**
 * Which machine this process runs on, as far as pids go: the host name and,
 * on Linux, the pid namespace (two containers on one host share a host name
 * only with host networking, but never a pid namespace). Hashed: a short,
 * delimiter-free tag.
 */
function machineTag(): string {
  let namespace = '';
  try {
    namespace = readlinkSync('/proc/self/ns/pid');
  } catch {
    // Not Linux: the host name alone.
  }
  return createHash('sha256').update(`${hostname()}\0${namespace}`).digest('base64url').slice(0, 12);
}

const MACHINE = machineTag();
const OWNER = /^own_[0-9A-Za-z]+_(\d+)_([0-9A-Za-z_-]{12})$/;

/**
 * A lease owner id that names the process holding the lease:
 * `own_<random>_<pid>_<machine>`. Random first, so every sender (several may
 * share a process) holds its own leases.
 */
export function newLeaseOwner(pid = process.pid, machine = MACHINE): string {
  return `${newOwnerId()}_${pid}_${machine}`;
}

/**
 * True only when `owner` is a process on this machine that no longer exists:
 * its leases can be taken back at once instead of waiting for them to run out
 * (attempt timeout + margin), which after a crash and restart would hold back
 * every delivery the dead process had claimed. Anything uncertain (another
 * machine, an id from an older version, this very process, a pid that exists,
 * perhaps reused) counts as alive and waits for the lease, which is safe.
 */
export function isDeadOwner(owner: string): boolean {
  const match = OWNER.exec(owner);
  if (match === null || match[2] !== MACHINE) return false;
  const pid = Number(match[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
