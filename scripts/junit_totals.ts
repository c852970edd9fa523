/**
 * Sums JUnit reports (deno test --junit-path, bun test --reporter=junit,
 * or any other runner's) by test case and prints `passed failed skipped`.
 * A case with <failure> or <error> failed, one with <skipped> was skipped.
 * A missing or unreadable report is one failure: its runner never finished.
 *
 *   deno run --allow-read scripts/junit_totals.ts report.xml ...
 */
import { readFileSync } from "node:fs";

/** Totals of one JUnit report's text. */
export function junitTotals(xml: string): { passed: number; failed: number; skipped: number } {
  const totals = { passed: 0, failed: 0, skipped: 0 };
  for (const m of xml.matchAll(/<testcase\b[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const body = m[1] ?? "";
    if (/<(failure|error)\b/.test(body)) totals.failed++;
    else if (/<skipped\b/.test(body)) totals.skipped++;
    else totals.passed++;
  }
  return totals;
}

if (import.meta.main) {
  const sum = { passed: 0, failed: 0, skipped: 0 };
  for (const path of Deno.args) {
    let xml: string;
    try {
      xml = readFileSync(path, "utf8");
    } catch {
      sum.failed++;
      continue;
    }
    const t = junitTotals(xml);
    sum.passed += t.passed;
    sum.failed += t.failed;
    sum.skipped += t.skipped;
  }
  console.log(`${sum.passed} ${sum.failed} ${sum.skipped}`);
}
