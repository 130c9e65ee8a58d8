// What every /api/v1 route can rely on: inputs checked against the route's JSON Schema (bad input
// → 400 INVALID_INPUT naming the field, before the handler runs, so nothing changes), unknown
// fields refused rather than dropped, and a per-token rate limit (429 RATE_LIMITED + Retry-After).
import type { FastifyInstance, FastifySchemaValidationError } from "fastify";
import rateLimit from "@fastify/rate-limit";
import { Ajv, type Options } from "ajv";
import addFormats from "ajv-formats";
import { JoeError } from "../errors.ts";

export interface ContractOptions {
  /** Requests per minute per API token (env API_RATE_LIMIT_PER_MINUTE; default 600). */
  rateLimitPerMinute?: number;
}

export const DEFAULT_RATE_LIMIT_PER_MINUTE = 600;

function makeAjv(opts: Options): Ajv {
  // removeAdditional off: an unknown (e.g. misspelt) field is an error the caller sees, not
  // silently ignored. Query strings are text, so they are coerced to the schema's types; JSON
  // bodies are not ("limit": "5" is refused).
  const ajv = new Ajv({ allErrors: false, removeAdditional: false, useDefaults: true, strict: false, ...opts });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  return ajv;
}

/** "body/limit must be <= 50", "body/error is required", "querystring/limt is not a known field". */
export function describeValidationErrors(errors: FastifySchemaValidationError[], dataVar: string): string {
  const e = errors[0];
  if (!e) return `${dataVar} is not valid`;
  const path = `${dataVar}${e.instancePath ?? ""}`;
  const params = (e.params ?? {}) as Record<string, unknown>;
  if (e.keyword === "required") return `${path}/${String(params.missingProperty)} is required`;
  if (e.keyword === "additionalProperties") return `${path}/${String(params.additionalProperty)} is not a known field`;
  if (e.keyword === "enum") return `${path} must be one of ${(params.allowedValues as unknown[]).join(", ")}`;
  return `${path} ${e.message ?? "is not valid"}`;
}

export async function applyContract(scope: FastifyInstance, opts: ContractOptions): Promise<void> {
  const forQuery = makeAjv({ coerceTypes: "array" });
  const forBody = makeAjv({ coerceTypes: false });
  scope.setValidatorCompiler(({ schema, httpPart }) => {
    if (httpPart !== "body") return forQuery.compile(schema);
    const validate = forBody.compile(schema);
    // A POST without a body (e.g. `/cancel`) is an empty object, not an error.
    const wrapped = (data: unknown) => validate(data === undefined || data === null ? {} : data);
    Object.defineProperty(wrapped, "errors", { get: () => validate.errors });
    return wrapped;
  });
  scope.setSchemaErrorFormatter((errors, dataVar) => new JoeError("INVALID_INPUT", describeValidationErrors(errors, dataVar)));
  // Route-level onRequest hooks run after the scope's, so the token is known here: the limit is
  // per token (each process keeps its own count; N instances allow up to N× the limit).
  await scope.register(rateLimit, {
    global: true,
    max: opts.rateLimitPerMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE,
    timeWindow: 60_000,
    keyGenerator: (req) => (req.principal ? `token:${req.principal.tokenId}` : `ip:${req.ip}`),
    errorResponseBuilder: (_req, ctx) => new JoeError("RATE_LIMITED", `at most ${ctx.max} requests per minute; retry in ${ctx.after}`),
  });
}
