// The version parity reports (--version, GET /status).
export const VERSION = '0.1.0';
