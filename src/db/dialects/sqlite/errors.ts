import type { ErrorClassifier } from "../../dialect.ts";

const SQLITE_UNAVAILABLE = new Set([
  "SQLITE_BUSY",
  "SQLITE_LOCKED",
  "SQLITE_READONLY",
  "SQLITE_IOERR",
  "SQLITE_CANTOPEN",
  "SQLITE_FULL",
  "SQLITE_READONLY_DBMOVED",
]);

export const errors: ErrorClassifier = {
  isUnavailable(err) {
    const code = (err as { code?: string })?.code ?? "";
    return (
      SQLITE_UNAVAILABLE.has(code) ||
      code.startsWith("SQLITE_IOERR") ||
      code.startsWith("SQLITE_BUSY") ||
      code.startsWith("SQLITE_READONLY") ||
      code.startsWith("SQLITE_CANTOPEN")
    );
  },
  isUniqueViolation(err) {
    const code = (err as { code?: string })?.code ?? "";
    return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
  },
};
