// The migrations this version knows, in order (migrations.ts holds them; a test keeps the two
// lists equal). Opening a store reads only these names, so an up-to-date store loads neither
// umzug nor Sequelize.
export const MIGRATION_NAMES = [
  '0001-runs',
  '0002-watermarks',
  '0003-key-index',
  '0004-outbox-ledger',
  '0005-leases',
  '0006-log-files-and-run-records',
  '0007-attachment-cache',
  '0008-content-hash-xxh64',
  '0009-shared-segments',
] as const;
