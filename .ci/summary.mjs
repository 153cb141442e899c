// Reads vitest's JSON report: says which suites that need a database or a program ran, then prints the
// closing line "N passed, N failed, N skipped". Exits 1 on any failure or on no test run.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  console.log(`no vitest JSON report at ${file}: ${err.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const tests = report.testResults.flatMap((f) => f.assertionResults);
const databases = [
  ['PostgreSQL', '[postgres]'],
  ['MariaDB', '[mariadb]'],
  ['Chromium', '[chromium]'],
  ['LibreOffice', '[libreoffice]'],
  ['Terminal (tmux)', '[terminal]'],
];
for (const [name, tag] of databases) {
  const mine = tests.filter((t) => t.fullName.includes(tag) || t.ancestorTitles.some((a) => a.includes(tag)));
  const ran = mine.filter((t) => t.status === 'passed' || t.status === 'failed');
  if (mine.length === 0) console.log(`${name}: no tests use it yet`);
  else if (ran.length === 0) console.log(`${name}: ${mine.length} tests SKIPPED (not available on this machine)`);
  else console.log(`${name}: ${ran.length} tests ran for real (${ran.filter((t) => t.status === 'passed').length} passed), ${mine.length - ran.length} skipped`);
}

const passed = report.numPassedTests;
const failed = report.numFailedTests + (report.numFailedTestSuites > 0 && report.numFailedTests === 0 ? report.numFailedTestSuites : 0);
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 || !report.success ? 1 : 0);
