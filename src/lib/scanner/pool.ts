import { availableParallelism } from "node:os";
import { parentPort, Worker } from "node:worker_threads";
import { errorMessage } from "../user-error.ts";
import { scan } from "./scan.ts";
import type { Finding, ScanOptions } from "./types.ts";
import { isScanWorker, WORKER_MARKER } from "./worker-role.ts";

/**
 * Worker pool for large inputs. A worker re-runs the module that defines it (`import.meta.url`):
 * from source that is this file, which serves scans at once (below); in an esbuild bundle it is
 * the whole bundle, whose entry sees `isScanWorker()` and calls `serveScans` before anything else
 * (src/sidecars/main.ts). The worker then parks, so a server's main never runs in it.
 */
interface ScanRequest {
  id: number;
  text: string;
  options: ScanOptions;
}

type ScanReply = { id: number; findings: Finding[] } | { id: number; error: string };

export interface ScanPool {
  scan(text: string, options?: ScanOptions): Promise<Finding[]>;
  close(): Promise<void>;
}

let serving = false;

/** In a pool worker: answers scan requests from now on (once) and never returns. */
export async function serveScans(): Promise<never> {
  const port = parentPort;
  if (!serving && port !== null) {
    serving = true;
    port.on("message", (request: ScanRequest) => {
      let reply: ScanReply;
      try {
        reply = { id: request.id, findings: scan(request.text, request.options) };
      } catch (error) {
        reply = { id: request.id, error: errorMessage(error) };
      }
      port.postMessage(reply);
    });
  }
  return new Promise<never>(() => {});
}

if (isScanWorker()) await serveScans();

interface Pending {
  resolve: (findings: Finding[]) => void;
  reject: (error: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  busy: number;
}

export function createScanPool(options: { size?: number } = {}): ScanPool {
  const size = Math.max(1, options.size ?? Math.min(4, Math.max(1, availableParallelism() - 1)));
  const pending = new Map<number, Pending>();
  const workers: PoolWorker[] = [];
  let nextId = 1;
  let closed = false;

  const failAll = (error: Error) => {
    for (const { reject } of pending.values()) reject(error);
    pending.clear();
  };

  const spawn = (): PoolWorker => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { [WORKER_MARKER]: true } });
    const entry: PoolWorker = { worker, busy: 0 };
    worker.on("message", (reply: ScanReply) => {
      entry.busy--;
      const waiter = pending.get(reply.id);
      if (waiter === undefined) return;
      pending.delete(reply.id);
      if ("error" in reply) waiter.reject(new Error(reply.error));
      else waiter.resolve(reply.findings);
    });
    // A crashed worker fails every scan in flight: the callers fail closed.
    worker.on("error", (error) => failAll(error));
    worker.on("exit", (code) => {
      const index = workers.indexOf(entry);
      if (index >= 0) workers.splice(index, 1);
      if (!closed && entry.busy > 0) failAll(new Error(`scanner worker exited with code ${code}`));
    });
    worker.unref();
    return entry;
  };

  return {
    scan(text, scanOptions = {}) {
      if (closed) return Promise.reject(new Error("scan pool is closed"));
      if (workers.length < size) workers.push(spawn());
      const target = workers.reduce((a, b) => (b.busy < a.busy ? b : a));
      const id = nextId++;
      target.busy++;
      const request: ScanRequest = { id, text, options: scanOptions };
      return new Promise<Finding[]>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        target.worker.ref();
        target.worker.postMessage(request);
      }).finally(() => {
        if (target.busy === 0) target.worker.unref();
      });
    },
    async close() {
      closed = true;
      failAll(new Error("scan pool is closed"));
      await Promise.all(workers.splice(0).map(({ worker }) => worker.terminate()));
    },
  };
}
