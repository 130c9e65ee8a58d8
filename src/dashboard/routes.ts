// The web dashboard at `/`: server-rendered pages for the people who own the bots. Everything is
// registered in an encapsulated Fastify scope, so its cookies, form parsing, CSRF checks and HTML
// error pages apply only here; the webhook keeps its JSON-only parsing and JSON errors.
// Every page and action runs as the signed-in user and reads only that user's rows (another
// user's task or bot is "not found"). Every form carries a CSRF token (double-submit cookie).
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import fastifyCookie from "@fastify/cookie";
import fastifyCsrf from "@fastify/csrf-protection";
import fastifyFormbody from "@fastify/formbody";
import fastifyStatic from "@fastify/static";
import QRCode from "qrcode";
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { Logger } from "../log.ts";
import type { MultiFernet } from "../crypto/fernet.ts";
import { ERRORS, JoeError } from "../errors.ts";
import { classifyError, sendError } from "../http/errors.ts";
import { deepLink } from "../plugins/store.ts";
import { deleteExpired, endSession, loginLinkUsable, redeemLoginLink, sessionUser, SESSION_TTL_MS, type SessionUser } from "./auth-store.ts";
import {
  countTasksOfBot,
  failedMessages,
  findUserBot,
  findUserTask,
  lastEventId,
  listUserBots,
  listUserTasks,
  parseFilters,
  taskMessages,
  tasksChangedSince,
} from "./queries.ts";
import { actionsFor, applyTaskAction, type TaskAction } from "./task-actions.ts";
import { addBotByToken, botHealth, deleteBot, retryMessage, unlinkBot, type BotDeps } from "./bot-actions.ts";
import type { SafeHtml } from "./html.ts";
import type { Viewer } from "./views/layout.ts";
import { confirmSignInPage, errorPage, signInPage } from "./views/auth.ts";
import { taskItem, taskPage, tasksPage } from "./views/tasks.ts";
import { botPage, botsPage } from "./views/bots.ts";

export interface DashboardDeps {
  db: Db;
  seam: DialectSeam;
  logger: Logger;
  fernet: MultiFernet;
  apiRoot: string;
  publicUrl?: string;
}

const SESSION_COOKIE = "joe_session";

// Our own assets sit in src/dashboard/assets; this path works from src/ (tsx) and from dist/
// (compiled), which does not copy them. The stylesheet comes from its npm package.
const OWN_ASSETS = fileURLToPath(new URL("../../src/dashboard/assets/", import.meta.url));
const WATER_CSS = path.join(path.dirname(createRequire(import.meta.url).resolve("water.css")));

/** Short notices after an action (a fixed set, so a link cannot put words on the page). */
const NOTICES: Record<string, string> = {
  cancelled: "Task cancelled.",
  done: "Task marked done.",
  unlinked: "Bot unlinked: link it again with the new code below.",
  deleted: "Bot deleted.",
  retried: "Message queued to be sent again.",
  added: "Bot added. Now link it to your chat.",
  signed_in: "Signed in.",
};

declare module "fastify" {
  interface FastifyRequest {
    dashUser: SessionUser | null;
  }
}

// Pages load only our own files, cannot be framed (the action buttons cannot be clickjacked) and
// send no Referer (the sign-in page's URL holds its one-time token).
const PAGE_HEADERS = {
  "cache-control": "no-store",
  "content-security-policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
};

function send(reply: FastifyReply, page: SafeHtml, status = 200): FastifyReply {
  return reply.status(status).type("text/html; charset=utf-8").headers(PAGE_HEADERS).send(page.value);
}

function wantsJson(req: FastifyRequest): boolean {
  return req.url.split("?")[0]!.endsWith(".json");
}

function notice(req: FastifyRequest): string | undefined {
  const m = (req.query as Record<string, unknown>).m;
  return typeof m === "string" ? NOTICES[m] : undefined;
}

export function registerDashboard(app: FastifyInstance, deps: DashboardDeps): void {
  const secure = deps.publicUrl?.startsWith("https://") ?? false;
  const botDeps: BotDeps = { ...deps, logger: deps.logger.child({ component: "dashboard" }) };

  app.register(async (scope) => {
    await scope.register(fastifyCookie);
    await scope.register(fastifyFormbody);
    await scope.register(fastifyCsrf, { cookieOpts: { path: "/", sameSite: "strict", httpOnly: true, secure } });
    await scope.register(fastifyStatic, { root: [OWN_ASSETS, WATER_CSS], prefix: "/assets/", maxAge: "1h", index: false, list: false });
    scope.decorateRequest("dashUser", null);

    const viewer = (req: FastifyRequest, reply: FastifyReply): Viewer => ({ username: req.dashUser!.username, csrf: reply.generateCsrf() });

    scope.setErrorHandler((err, req, reply) => {
      const { code, description: message, log } = classifyError(err, (e) => deps.seam.errors.isUnavailable(e));
      if (log && code === "INTERNAL") req.log.error({ err }, "dashboard: internal error");
      const status = ERRORS[code].status;
      if (wantsJson(req)) return sendError(reply, code, message);
      return send(reply, errorPage(status === 403 ? "Refused" : "Something went wrong", message), status);
    });

    /** The signed-in user, or: pages redirect to the sign-in page, JSON and forms answer 401. */
    const requireUser = async (req: FastifyRequest, reply: FastifyReply) => {
      const token = req.cookies[SESSION_COOKIE];
      const user = token ? await sessionUser(deps.db, token) : null;
      if (user) {
        req.dashUser = user;
        return;
      }
      if (req.method === "GET" && !wantsJson(req)) return reply.redirect("/login", 302);
      throw new JoeError("SIGN_IN_REQUIRED");
    };
    const auth = { preHandler: requireUser };
    const authForm = { preHandler: [requireUser, scope.csrfProtection] };
    const notFound = (req: FastifyRequest, reply: FastifyReply, what: string) =>
      send(reply, errorPage("Not found", `No ${what} here.`, viewer(req, reply)), 404);

    // -- sign-in ---------------------------------------------------------------------------
    scope.get("/login", async (req, reply) => {
      const token = req.cookies[SESSION_COOKIE];
      if (token && (await sessionUser(deps.db, token))) return reply.redirect("/", 302);
      return send(reply, signInPage());
    });
    scope.get("/login/:token", async (req, reply) => {
      const { token } = req.params as { token: string };
      if (!(await loginLinkUsable(deps.db, token))) return send(reply, signInPage(ERRORS.LOGIN_LINK_INVALID.message), ERRORS.LOGIN_LINK_INVALID.status);
      return send(reply, confirmSignInPage(token, reply.generateCsrf()));
    });
    scope.post("/login/:token", { preHandler: scope.csrfProtection }, async (req, reply) => {
      const { token } = req.params as { token: string };
      const session = await redeemLoginLink(deps.db, token);
      if (!session) return send(reply, signInPage(ERRORS.LOGIN_LINK_INVALID.message), ERRORS.LOGIN_LINK_INVALID.status);
      // Housekeeping where it is cheap and rare: each sign-in clears expired links and sessions.
      deleteExpired(deps.db).catch((err) => req.log.warn({ err }, "dashboard: could not delete expired sessions"));
      reply.setCookie(SESSION_COOKIE, session.sessionToken, {
        path: "/",
        httpOnly: true,
        sameSite: "lax",
        secure,
        maxAge: Math.floor(SESSION_TTL_MS / 1000),
      });
      return reply.redirect("/?m=signed_in", 303);
    });
    scope.post("/logout", authForm, async (req, reply) => {
      await endSession(deps.db, req.cookies[SESSION_COOKIE]!);
      reply.clearCookie(SESSION_COOKIE, { path: "/" });
      return reply.redirect("/login", 303);
    });

    // -- tasks -----------------------------------------------------------------------------
    scope.get("/", auth, async (req, reply) => {
      const u = req.dashUser!;
      const f = parseFilters(req.query as Record<string, unknown>);
      // The event cursor is read before the tasks, so a change committed in between is shown again rather than missed.
      const ev = await lastEventId(deps.db, u.usuarioId);
      const [tasks, bots] = await Promise.all([listUserTasks(deps.db, deps.seam, u.usuarioId, f), listUserBots(deps.db, u.usuarioId)]);
      const names = bots.map((b) => ({ id: Number(b.id), identificador: b.identificador }));
      return send(reply, tasksPage(viewer(req, reply), tasks, names, f, { lastEventId: ev }, notice(req)));
    });

    // Live updates: tasks newer than `after` (works whether or not events are written) plus
    // tasks changed since event `ev` (state changes by workers, the API, this dashboard).
    scope.get("/live.json", auth, async (req, reply) => {
      const u = req.dashUser!;
      const q = req.query as Record<string, unknown>;
      const num = (v: unknown) => (typeof v === "string" && /^\d{1,15}$/.test(v) ? Number(v) : 0);
      const after = num(q.after);
      const f = parseFilters(q);
      const changed = await tasksChangedSince(deps.db, u.usuarioId, num(q.ev));
      const [fresh, touched, bots] = await Promise.all([
        listUserTasks(deps.db, deps.seam, u.usuarioId, f, { afterId: after, limit: 50 }),
        changed.taskIds.length ? listUserTasks(deps.db, deps.seam, u.usuarioId, f, { ids: changed.taskIds, limit: 500 }) : Promise.resolve([]),
        listUserBots(deps.db, u.usuarioId),
      ]);
      const names = new Map(bots.map((b) => [Number(b.id), b.identificador]));
      const byId = new Map([...touched, ...fresh].map((t) => [t.id, t]));
      const items = [...byId.values()].map((t) => ({ id: t.id, html: taskItem(t, names.get(t.plugin_id)).value }));
      const newest = Math.max(after, ...fresh.map((t) => t.id));
      reply.header("cache-control", "no-store");
      return { items, after: newest, ev: changed.lastEventId };
    });

    scope.get("/tasks/:codigo", auth, async (req, reply) => {
      const u = req.dashUser!;
      const task = await findUserTask(deps.db, deps.seam, u.usuarioId, (req.params as { codigo: string }).codigo);
      if (!task) return notFound(req, reply, "such task");
      const [messages, bot] = await Promise.all([taskMessages(deps.db, task.id), findUserBot(deps.db, u.usuarioId, task.plugin_id)]);
      return send(reply, taskPage(viewer(req, reply), task, bot?.identificador, messages, actionsFor(task.estado), notice(req)));
    });

    scope.post("/tasks/:codigo/:action", authForm, async (req, reply) => {
      const u = req.dashUser!;
      const { codigo, action } = req.params as { codigo: string; action: string };
      if (action !== "cancel" && action !== "done") return notFound(req, reply, "such action");
      const task = await findUserTask(deps.db, deps.seam, u.usuarioId, codigo);
      if (!task || !(await applyTaskAction(deps.db, u.usuarioId, task.id, action as TaskAction))) return notFound(req, reply, "such task");
      return reply.redirect(`/tasks/${encodeURIComponent(task.codigo)}?m=${action === "cancel" ? "cancelled" : "done"}`, 303);
    });

    // -- bots ------------------------------------------------------------------------------
    scope.get("/bots", auth, async (req, reply) => {
      return send(reply, botsPage(viewer(req, reply), await listUserBots(deps.db, req.dashUser!.usuarioId), { status: notice(req) }));
    });

    scope.post("/bots", authForm, async (req, reply) => {
      const u = req.dashUser!;
      const token = (req.body as Record<string, unknown> | undefined)?.token;
      try {
        const added = await addBotByToken(botDeps, u.usuarioId, typeof token === "string" ? token : "");
        return reply.redirect(`/bots/${added.pluginId}?m=added`, 303);
      } catch (err) {
        if (!(err instanceof JoeError) || (err.status >= 500 && err.code !== "BOT_API")) throw err;
        // The form again with what went wrong (the token is not put back into the page).
        return send(reply, botsPage(viewer(req, reply), await listUserBots(deps.db, u.usuarioId), { error: err.message }), err.status);
      }
    });

    const botOf = async (req: FastifyRequest) => {
      const id = (req.params as { id: string }).id;
      return /^\d{1,15}$/.test(id) ? findUserBot(deps.db, req.dashUser!.usuarioId, Number(id)) : null;
    };

    scope.get("/bots/:id", auth, async (req, reply) => {
      const bot = await botOf(req);
      if (!bot) return notFound(req, reply, "such bot");
      const link = deepLink(bot.identificador, bot.codigo_verificacion);
      const [qrSvg, health, failed, taskCount] = await Promise.all([
        QRCode.toString(link, { type: "svg", margin: 1, errorCorrectionLevel: "M" }),
        botHealth(botDeps, bot),
        failedMessages(deps.db, Number(bot.id)),
        countTasksOfBot(deps.db, Number(bot.id)),
      ]);
      return send(reply, botPage(viewer(req, reply), { bot, deepLink: link, qrSvg, health, failed, taskCount }, notice(req)));
    });

    scope.get("/bots/:id/status.json", auth, async (req, reply) => {
      const bot = await botOf(req);
      if (!bot) throw new JoeError("NOT_FOUND");
      reply.header("cache-control", "no-store");
      return {
        id: Number(bot.id),
        verificado: Boolean(bot.verificado),
        chat_id_verificado: bot.chat_id_verificado === null ? null : Number(bot.chat_id_verificado),
      };
    });

    scope.post("/bots/:id/unlink", authForm, async (req, reply) => {
      const bot = await botOf(req);
      if (!bot) return notFound(req, reply, "such bot");
      await unlinkBot(botDeps, bot);
      return reply.redirect(`/bots/${Number(bot.id)}?m=unlinked`, 303);
    });

    scope.post("/bots/:id/delete", authForm, async (req, reply) => {
      const bot = await botOf(req);
      if (!bot) return notFound(req, reply, "such bot");
      await deleteBot(botDeps, bot);
      return reply.redirect("/bots?m=deleted", 303);
    });

    scope.post("/bots/:id/messages/:mid/retry", authForm, async (req, reply) => {
      const bot = await botOf(req);
      const mid = (req.params as { mid: string }).mid;
      if (!bot || !/^\d{1,15}$/.test(mid) || !(await retryMessage(deps.db, Number(bot.id), Number(mid)))) {
        return notFound(req, reply, "such failed message");
      }
      return reply.redirect(`/bots/${Number(bot.id)}?m=retried`, 303);
    });
  });
}
