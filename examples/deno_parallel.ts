/**
 * A Hono app for `deno serve --parallel`: every thread claims its own slot
 * in one shared stats file.
 *
 *   RAINDROPS_STATS=/dev/shm/raindrops-demo \
 *     deno serve -A --parallel --host 127.0.0.1 --port 8080 examples/deno_parallel.ts
 *   curl http://127.0.0.1:8080/_raindrops
 *   curl 'http://127.0.0.1:8080/_raindrops?format=prometheus'
 */
import { exampleApp } from "./hono_app.ts";

export default exampleApp();
