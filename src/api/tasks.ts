// /api/v1/tasks: list and read a user's tasks, claim them with a lease, and report how they went
// (complete / fail / cancel). The rules live in tasks/lifecycle.ts and tasks/query.ts; this file
// is the HTTP shape (schemas, which the OpenAPI document is generated from).
import type { FastifyInstance } from "fastify";
import type { ApiDeps } from "./register.ts";
import { JoeError } from "../errors.ts";
import { taskIdFromCodigo } from "../tasks/codigo.ts";
import { claimTasks, getTask, transitionTask, type Action } from "../tasks/lifecycle.ts";
import { listUserTasks } from "../tasks/query.ts";
import { errors, estadoSchema, idSchema, taskSchema, tipoSchema } from "./schemas.ts";

const codigoParams = {
  type: "object",
  properties: { codigo: { type: "string", pattern: "^[Tt]-[0-9A-Za-z]{4,12}$", description: "the task's code, e.g. T-4KQ2" } },
  required: ["codigo"],
} as const;

const notifySchema = { type: "boolean", default: true, description: "answer the original message in the chat (default true)" } as const;
const leaseIdSchema = {
  type: "string",
  minLength: 1,
  maxLength: 40,
  description: "the lease_id the claim returned: if the task was claimed again since (the lease ran out), 409 INVALID_TRANSITION",
} as const;
const TEXT_MAX = 100_000;

function taskId(codigo: string): number {
  const id = taskIdFromCodigo(codigo);
  // A code no id maps to is simply not a task (same answer as another user's task).
  if (id === null) throw new JoeError("TASK_NOT_FOUND");
  return id;
}

export function registerTaskRoutes(scope: FastifyInstance, deps: ApiDeps): void {
  const { db, seam } = deps;
  const me = (req: { principal?: { usuarioId: number; tokenId: number } }) => req.principal!;

  scope.get<{ Querystring: { estado?: string; tipo?: string; plugin_id?: number; pendiente_stt?: boolean; q?: string; cursor?: string; limit: number } }>(
    "/tasks",
    {
      schema: {
        summary: "The user's tasks, newest first",
        tags: ["tasks"],
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            estado: estadoSchema,
            tipo: tipoSchema,
            plugin_id: idSchema,
            pendiente_stt: { type: "boolean" },
            q: { type: "string", minLength: 1, maxLength: 200, description: "case-insensitive search in titulo and metadatos_extra.texto_original" },
            cursor: { type: "string", minLength: 1, maxLength: 64, description: "next_cursor of the previous page" },
            limit: { type: "integer", minimum: 1, maximum: 200, default: 50 },
          },
        },
        response: {
          200: {
            type: "object",
            properties: { items: { type: "array", items: taskSchema }, next_cursor: { type: "string", nullable: true } },
            required: ["items", "next_cursor"],
          },
          ...errors(400),
        },
      },
    },
    async (req) => {
      const q = req.query;
      return listUserTasks(db, seam, {
        usuarioId: me(req).usuarioId,
        estado: q.estado,
        tipo: q.tipo,
        pluginId: q.plugin_id,
        pendienteStt: q.pendiente_stt,
        q: q.q,
        cursor: q.cursor,
        limit: q.limit,
      });
    },
  );

  scope.post<{ Body: { limit: number; lease_seconds: number; tipo?: string; plugin_id?: number } }>(
    "/tasks/claim",
    {
      schema: {
        summary: "Claim the oldest queued tasks: they become in_progress with a lease",
        description: "Never the same task to two claimers. A task whose lease runs out goes back to queued and may be claimed again.",
        tags: ["tasks"],
        body: {
          type: "object",
          additionalProperties: false,
          properties: {
            limit: { type: "integer", minimum: 1, maximum: 50, default: 1 },
            lease_seconds: { type: "integer", minimum: 10, maximum: 3600, default: 300 },
            tipo: tipoSchema,
            plugin_id: idSchema,
          },
        },
        response: { 200: { type: "object", properties: { items: { type: "array", items: taskSchema } }, required: ["items"] }, ...errors(400) },
      },
    },
    async (req) => {
      const b = req.body ?? { limit: 1, lease_seconds: 300 };
      const p = me(req);
      const items = await claimTasks(db, seam, {
        usuarioId: p.usuarioId,
        tokenId: p.tokenId,
        limit: b.limit,
        leaseMs: b.lease_seconds * 1000,
        tipo: b.tipo,
        pluginId: b.plugin_id,
      });
      return { items };
    },
  );

  scope.get<{ Params: { codigo: string } }>(
    "/tasks/:codigo",
    {
      schema: { summary: "One task by its code", tags: ["tasks"], params: codigoParams, response: { 200: taskSchema, ...errors(400, 404) } },
    },
    async (req) => getTask(db, seam, me(req).usuarioId, taskId(req.params.codigo)),
  );

  const transition = (action: Action, summary: string, body: Record<string, unknown>) => {
    scope.post<{ Params: { codigo: string }; Body: { resultado?: string; error?: string; notify?: boolean; lease_id?: string } }>(
      `/tasks/:codigo/${action}`,
      {
        schema: { summary, tags: ["tasks"], params: codigoParams, body, response: { 200: taskSchema, ...errors(400, 404, 409) } },
      },
      async (req) => {
        const b = req.body ?? {};
        const { task, queued } = await transitionTask(db, seam, {
          usuarioId: me(req).usuarioId,
          taskId: taskId(req.params.codigo),
          action,
          detail: action === "complete" ? b.resultado : action === "fail" ? b.error : undefined,
          notify: action !== "cancel" && b.notify !== false,
          leaseId: action === "cancel" ? undefined : b.lease_id,
        });
        if (queued) deps.onQueued?.();
        return task;
      },
    );
  };
  transition("complete", "Report a claimed task done (in_progress → done)", {
    type: "object",
    additionalProperties: false,
    properties: {
      resultado: { type: "string", maxLength: TEXT_MAX, description: "stored in metadatos_extra.resultado and sent to the chat" },
      notify: notifySchema,
      lease_id: leaseIdSchema,
    },
  });
  transition("fail", "Report a claimed task failed (in_progress → failed)", {
    type: "object",
    additionalProperties: false,
    required: ["error"],
    properties: {
      error: { type: "string", minLength: 1, maxLength: TEXT_MAX, description: "stored in metadatos_extra.error and sent to the chat" },
      notify: notifySchema,
      lease_id: leaseIdSchema,
    },
  });
  transition("cancel", "Cancel a task (queued | in_progress → cancelled)", {
    type: "object",
    additionalProperties: false,
    properties: {},
  });
}
