import type { ErrorClassifier } from "../../dialect.ts";

const PG_UNAVAILABLE_CLASSES = ["08", "53", "57", "58"]; // connection, resources, operator intervention, system
const NODE_NET_ERRORS = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH"]);

export const errors: ErrorClassifier = {
  isUnavailable(err) {
    const e = err as { code?: string; message?: string };
    const code = e?.code ?? "";
    if (NODE_NET_ERRORS.has(code)) return true;
    if (PG_UNAVAILABLE_CLASSES.some((c) => code.startsWith(c))) return true;
    // 55000 "object not in prerequisite state" is also what a database closed to connections says.
    if (code === "55000" && /not currently accepting connections/i.test(e?.message ?? "")) return true;
    return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(e?.message ?? "");
  },
  isUniqueViolation(err) {
    return (err as { code?: string })?.code === "23505";
  },
};
