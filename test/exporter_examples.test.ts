/**
 * The exporter's deployment examples (examples/exporter/) hold command
 * lines the exporter accepts and start it from the file the package
 * installs. The container image is not built here (no container engine);
 * the systemd unit is checked by systemd-analyze when it is installed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseExporterArgs } from "../src/exporter/_options.ts";

const DIR = new URL("../examples/exporter/", import.meta.url).pathname;
const read = (name: string) => readFileSync(`${DIR}${name}`, "utf8");

test("the systemd unit's ExecStart parses and systemd-analyze finds nothing but the missing install", () => {
  const unit = read("raindrops-exporter.service");
  const exec = /^ExecStart=((?:.*\\\n)*.*)/m.exec(unit)![1].replace(/\\\n/g, " ").trim().split(/\s+/);
  assert.equal(exec[0], "/usr/local/bin/raindrops-exporter");
  const o = parseExporterArgs(exec.slice(1));
  assert.equal(o.host, "127.0.0.1");
  assert.deepEqual(o.listeners, ["0.0.0.0:80", "/run/app/app.sock"]);
  const verify = spawnSync("systemd-analyze", ["verify", `${DIR}raindrops-exporter.service`], { encoding: "utf8" });
  if (verify.error) return; // systemd not installed
  const complaints = verify.stderr.split("\n").filter((l) => l.includes("raindrops-exporter.service"));
  assert.deepEqual(
    complaints.filter((l) => !/raindrops-exporter is not executable: No such file/.test(l)),
    [],
    verify.stderr,
  );
});

test("the Containerfile starts the compiled bin on every interface", () => {
  const file = read("Containerfile");
  const entry = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(file)![1]) as string[];
  assert.equal(entry[1], "node_modules/raindrops/src/exporter/main.js"); // src/exporter/main.ts, compiled
  assert.equal(parseExporterArgs(entry.slice(2)).host, "");
});

test("the Kubernetes sidecar's args parse and its probe and ports match the exporter's", () => {
  const yaml = read("sidecar.yaml");
  const args = JSON.parse(/^\s+args: (\[.*\])$/m.exec(yaml)![1]) as string[];
  const o = parseExporterArgs(args);
  assert.equal(o.port, 9882);
  assert.deepEqual(o.listeners, ["0.0.0.0:80"]);
  assert.match(yaml, /containerPort: 9882/);
  assert.match(yaml, /path: \/-\/healthy/);
  assert.match(yaml, /prometheus\.io\/path: \/metrics/);
});
