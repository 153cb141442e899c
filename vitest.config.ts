import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Transpiles src/ once for the tests that start the agent as a child process.
    globalSetup: ['test/helpers/build-agent.ts'],
    // Many tests run the real CLI, a child process each (1-4 s apiece on a busy 2-core machine):
    // their budget leaves room for load. Tests that wait on purpose set their own.
    testTimeout: 90_000,
    hookTimeout: 30_000,
    // Each file gets its own process: the state store and redaction registry are per process.
    pool: 'forks',
    // Two files at a time on the 2-core machine (the default leaves one core idle): most of the
    // long files wait on child processes, servers and databases rather than on this process.
    maxWorkers: 2,
  },
});
