/**
 * The README's "Standalone exporter" and "OpenTelemetry" sections: every
 * exporter command line in them parses, and the clone's command and the
 * curl line run as written (on a free port instead of 9882, with the stats
 * file renamed to a test name) and show the listener's queue.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { codeBlocks, section } from "./fixtures/readme.ts";
import { startExporter } from "./fixtures/exporter_process.ts";
import { tempShm } from "./_helpers.ts";
import { parseExporterArgs } from "../src/exporter/_options.ts";

/** `sh` lines of a README section, comments dropped. */
function shellLines(title: string): string[] {
  return codeBlocks(section(title)).filter((b) => b.lang === "sh")
    .flatMap((b) => b.code.split("\n"))
    .map((l) => l.replace(/\s+#.*$/, "").trim())
    .filter((l) => l !== "");
}

/** The exporter's arguments in a command line, or undefined when it does not run the exporter. */
function exporterArgs(line: string): string[] | undefined {
  const words = line.split(/\s+/);
  const at = words.findIndex((w) => /raindrops-exporter$|src\/exporter\/main\.ts$/.test(w));
  return at < 0 ? undefined : words.slice(at + 1);
}

test("every exporter command line of the README parses", () => {
  const lines = shellLines("Standalone exporter").filter((l) => exporterArgs(l) !== undefined);
  assert.ok(lines.length >= 4, lines.join("\n"));
  for (const line of lines) parseExporterArgs(exporterArgs(line)!);
  assert.ok(lines.some((l) => l.startsWith("npx raindrops-exporter")));
  assert.ok(lines.some((l) => l.startsWith("bunx --bun raindrops-exporter")));
  assert.ok(lines.some((l) => l.startsWith("deno run -A npm:raindrops/raindrops-exporter")));
});

test("the README's clone command and curl line show the listener's queue", { timeout: 60_000 }, async () => {
  const lines = shellLines("Standalone exporter");
  const clone = lines.find((l) => l.startsWith("deno run -A src/exporter/main.ts"))!;
  const curl = lines.find((l) => l.startsWith("curl "))!;
  using stats = tempShm("readme-exporter");
  const args = exporterArgs(clone)!.map((a) => a.replace("/dev/shm/raindrops-shop", stats.path));
  await using exporter = await startExporter("deno", args);
  const out = execFileSync("bash", ["-c", curl.replace("127.0.0.1:9882", exporter.address)], { encoding: "utf8" });
  const listener = parseExporterArgs(args).listeners[0];
  assert.match(out, new RegExp(`^raindrops_listener_queued_connections\\{listener="${listener}"\\} \\d+$`, "m"));
  assert.match(out, /raindrops_listener_queued_connections_max/);
  assert.equal(existsSync(stats.path), false, "the exporter created the stats file");
});

test("the OpenTelemetry section's Deno command sets OTEL_DENO=true and an OTLP endpoint", () => {
  const line = shellLines("OpenTelemetry").find((l) => l.includes("deno run"))!;
  assert.match(line, /^OTEL_DENO=true OTEL_EXPORTER_OTLP_ENDPOINT=http:\/\/[\d.]+:4318 deno run -A app\.ts$/);
});
