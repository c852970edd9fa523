/**
 * Identity of OS threads, read natively (gettid, `/proc/<tid>/stat`): Deno
 * grants reading `/proc/<pid>` paths only with -A, and a worker's liveness
 * must be checked without any permission beyond FFI. In-process (no
 * library) the only thread is this one.
 *
 * @module
 */
import { Errno, NativeError } from "../errors.ts";
import { IN_PROCESS_THREAD } from "./in_process.ts";
import { native, runsInProcess } from "./library.ts";

/** The calling OS thread's id (gettid). */
export function currentThreadId(): number {
  return runsInProcess() ? IN_PROCESS_THREAD.id : native().rd_thread_id();
}

/**
 * Start time of OS thread `tid` in clock ticks since boot, or undefined
 * when it is gone: exited, reaped, or a zombie nobody waited for. With the
 * id it names one thread over the machine's uptime, since ids are reused.
 *
 * @example
 * ```ts
 * import { currentThreadId, threadStartTicks } from "./thread.ts";
 * threadStartTicks(currentThreadId()); // e.g. 123456
 * ```
 */
export function threadStartTicks(tid: number): number | undefined {
  if (runsInProcess()) return tid === IN_PROCESS_THREAD.id ? IN_PROCESS_THREAD.startTicks : undefined;
  const start = native().rd_thread_start(tid);
  if (start === -Errno.ENOENT || start === -Errno.ESRCH) return undefined;
  if (start < 0) throw new NativeError("reading a thread's start time", -start);
  return start;
}
