import { mkdirSync, readFileSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Ports for the servers a test starts as child processes (services, nats-servers, a standby).
 *
 * A port is picked here and bound later by another process, so two things could take it in
 * between: another test process picking the same port, or the kernel handing it to an outgoing
 * connection. Ports are therefore picked below the kernel's ephemeral range (connections never
 * get them) and reserved across processes by a directory per port (`mkdir` is atomic), which the
 * process removes when it exits (the directory too, once empty). A reservation older than an hour
 * is a killed process's: taken over.
 */
const RESERVATIONS = join(tmpdir(), 'screengraph-test-ports');
const STALE_MS = 60 * 60 * 1000;
const LOWEST = 20_000;
const reserved = new Set<string>();

function ephemeralFloor(): number {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    return Number(low) || 32_768;
  } catch {
    return 32_768;
  }
}

function reserve(port: number): boolean {
  const path = join(RESERVATIONS, String(port));
  try {
    mkdirSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      // The last process out took the directory meanwhile.
      mkdirSync(RESERVATIONS, { recursive: true });
      return reserve(port);
    }
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const since = statSync(path, { throwIfNoEntry: false })?.mtimeMs;
    if (since === undefined || Date.now() - since < STALE_MS) return false;
    rmSync(path, { recursive: true, force: true });
    return reserve(port);
  }
  if (reserved.size === 0) process.once('exit', release);
  reserved.add(path);
  return true;
}

function release(): void {
  for (const path of reserved) rmSync(path, { recursive: true, force: true });
  reserved.clear();
  try {
    rmdirSync(RESERVATIONS); // the last process out takes the directory too
  } catch {
    // Another process still holds ports.
  }
}

async function bindable(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port no other test process holds and nothing listens on, kept for this process until it exits. */
export async function freePort(): Promise<number> {
  const span = Math.max(ephemeralFloor() - LOWEST, 5_000);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * span);
    if (!reserve(port)) continue;
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port between ${LOWEST} and ${LOWEST + span}`);
}
