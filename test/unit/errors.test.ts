// The error table (src/errors.ts) is complete and every way into it lands on a code in it:
// each code has a status and a message and is raised somewhere; every framework error code we
// recognise exists in Fastify and maps to a table code; the body has one shape.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { errorCodes } from "fastify";
import { ERRORS, JoeError, errorBody, type ErrorCode } from "../../src/errors.ts";
import { CLIENT_ERRORS, FRAMEWORK_ERRORS, classifyError } from "../../src/http/errors.ts";

const SRC = path.resolve(import.meta.dirname, "../../src");
const codes = Object.keys(ERRORS) as ErrorCode[];

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
}

describe("the error table", () => {
  it("every code has an HTTP error status and a message", () => {
    for (const code of codes) {
      const { status, message } = ERRORS[code];
      assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${code}: status ${status}`);
      assert.ok(typeof message === "string" && message.length > 0, `${code}: message`);
      assert.match(code, /^[A-Z][A-Z_]*$/, "codes are UPPER_SNAKE");
    }
  });

  it("every code is raised or answered somewhere in src/ (no dead entries)", () => {
    const text = sourceFiles(SRC)
      .filter((f) => f !== path.join(SRC, "errors.ts"))
      .map((f) => fs.readFileSync(f, "utf8"))
      .join("\n");
    const unused = codes.filter((c) => !text.includes(`"${c}"`) && !text.includes(`ERRORS.${c}`));
    assert.deepEqual(unused, []);
  });

  it("every error body is built by errorBody(): no hand-written error_code in src/", () => {
    const offenders = sourceFiles(SRC)
      .filter((f) => f !== path.join(SRC, "errors.ts") && f !== path.join(SRC, "api", "schemas.ts"))
      // an object key `error_code:` (not `err.error_code`, a Bot API error read)
      .filter((f) => /[{,]\s*error_code\s*:/.test(fs.readFileSync(f, "utf8")))
      .map((f) => path.relative(SRC, f));
    assert.deepEqual(offenders, []);
  });

  it("JoeError carries the table's status, and its message starts with the table's", () => {
    for (const code of codes) {
      const e = new JoeError(code, "detail");
      assert.equal(e.status, ERRORS[code].status);
      assert.equal(e.message, `${ERRORS[code].message}: detail`);
      assert.equal(new JoeError(code).message, ERRORS[code].message);
    }
  });

  it("errorBody() is Telegram's shape, the table's message by default", () => {
    assert.deepEqual(errorBody("NOT_FOUND"), { ok: false, error_code: "NOT_FOUND", description: ERRORS.NOT_FOUND.message });
    assert.deepEqual(errorBody("INTERNAL", "x"), { ok: false, error_code: "INTERNAL", description: "x" });
  });
});

describe("framework errors map onto the table", () => {
  it("every mapped code is a table code; every FST_ERR_ code we name exists in Fastify", () => {
    for (const [fw, code] of Object.entries({ ...FRAMEWORK_ERRORS, ...CLIENT_ERRORS })) {
      assert.ok(code in ERRORS, `${fw} → ${code}`);
      if (fw.startsWith("FST_ERR_")) assert.ok(fw in errorCodes, `${fw} is not a Fastify error code (renamed?)`);
    }
  });

  it("real Fastify errors are classified by err.code, whatever their message", () => {
    const cases: Array<[Error, ErrorCode]> = [
      [new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE(), "BODY_TOO_LARGE"],
      [new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(), "UNSUPPORTED_MEDIA_TYPE"],
      [new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY(), "INVALID_JSON"],
      [new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY(), "INVALID_JSON"],
      [new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH(), "INVALID_INPUT"],
      [new errorCodes.FST_ERR_VALIDATION("body/x must be integer"), "INVALID_INPUT"],
      [new errorCodes.FST_ERR_NOT_FOUND(), "NOT_FOUND"],
    ];
    for (const [err, code] of cases) {
      err.message = "a message in some other words";
      const got = classifyError(err, () => false);
      assert.equal(got.code, code, (err as { code?: string }).code);
      assert.equal(got.description, ERRORS[code].message);
      assert.equal(got.log, false);
    }
  });

  it("JoeError as it is; storage outages 503; other 4xx 400; anything else 500 (logged)", () => {
    const own = classifyError(new JoeError("TASK_NOT_FOUND", "T-1"), () => false);
    assert.deepEqual(own, { code: "TASK_NOT_FOUND", description: `${ERRORS.TASK_NOT_FOUND.message}: T-1`, log: false });
    assert.equal(classifyError(new Error("db gone"), () => true).code, "STORAGE_UNAVAILABLE");
    assert.equal(classifyError(Object.assign(new Error("?"), { statusCode: 406 }), () => false).code, "INVALID_INPUT");
    const internal = classifyError(new Error("bug"), () => false);
    assert.deepEqual(internal, { code: "INTERNAL", description: ERRORS.INTERNAL.message, log: true });
    assert.equal(classifyError(undefined, () => false).code, "INTERNAL");
  });
});
