// Reading a JSON column back. Both databases need the same: SQLite returns the stored text,
// pg returns jsonb already parsed. Kept in one place so no caller parses a column by hand.
export function parseJsonColumn(value: unknown): unknown {
  return typeof value === "string" ? JSON.parse(value) : value;
}
