// The package's public API, as a map: one line per module, grouped the way the folders are.
// Reading this file top to bottom is the quickest tour of what a user of the package calls (the
// CLI and the dashboard are built on the same functions). Workers, caches, limiters and the
// dialect seam's machinery are internal: buildApp/openRuntime/startServer run them.

// Configuration, logging, errors
export { loadConfig, ConfigError, type Config } from "./config.ts";
export { createLogger, type Logger } from "./log.ts";
export { ERRORS, JoeError, errorBody, type ErrorCode, type ErrorBody } from "./errors.ts";

// HTTP: buildApp(deps) without listen(), and the runtime that listens and runs workers
export { buildApp, type AppDeps } from "./app.ts";
export { openRuntime, startServer, startWorker, startSender, stopOnSignals, type Runtime, type Running } from "./runtime.ts";

// The seed's rules, pure: what one update means (decide) and what a batch of them writes (planBatch)
export { decide, LIMITS, EMPTY_CHAT, type Decision, type ChatState, type Outcome, type ReplyKind } from "./webhook/decide.ts";
export { planBatch, type Plan, type PlanJob, type PlanState } from "./webhook/plan.ts";
export type { ApplyResult } from "./webhook/write-plans.ts";
export type { PluginState } from "./plugins/state.ts";
export { TASK_ESTADO_INICIAL } from "./webhook/rows.ts";

// Telegram: Joe's webhook path and registering it with the Bot API (the CLI's `webhook set`)
export { WEBHOOK_PATH, webhookPath, setWebhook } from "./telegram/webhook-setup.ts";

// Data: users and their API tokens, plugins, tasks
export { createUser, findUser, listUsers } from "./users/store.ts";
export { createApiToken, listApiTokens, revokeApiToken } from "./api/tokens.ts";
export { createLoginLink, loginUrl } from "./dashboard/auth-store.ts";
export { createPlugin, listPlugins, getPluginRow, unlinkPlugin, rotateWebhookSecret, rotateTokens, toPublic, deepLink } from "./plugins/store.ts";
export { deletePlugin, setPluginToken } from "./plugins/manage.ts";
export { deletePlugin as deleteUserPlugin } from "./plugins/remove.ts";
export { deliveryModeOf, setDeliveryMode, type DeliveryMode } from "./polling/mode.ts";
export { readPollingState, type PollingStatus } from "./polling/state.ts";
export { listTasks, toPublicTask } from "./tasks/store.ts";
export { taskCodigo, taskIdFromCodigo } from "./tasks/codigo.ts";
export { claimTasks, transitionTask, getTask, toApiTask, ESTADOS, type ApiTask, type Estado } from "./tasks/lifecycle.ts";
export { listUserTasks } from "./tasks/query.ts";

// The event feed: reading in commit order, outgoing webhooks and their signature
export { readEvents, headPosition, type FeedItem } from "./feed/read.ts";
export { createSubscription, listSubscriptions, deleteSubscription } from "./feed/subscriptions.ts";
export { signBody } from "./feed/signature.ts";

// Storage: one Kysely code path, dialect differences behind the seam
export { openStore, isPostgresUrl, type Store } from "./db/connect.ts";
export { migrate } from "./db/migrations.ts";
export type { DialectSeam, Db, Tx, WebhookWriter, WriteOutcome } from "./db/dialect.ts";
export type { Database } from "./db/schema.ts";

// Keys and first-run checks
export { generateKey, MultiFernet, FernetError } from "./crypto/fernet.ts";
export { loadKeys } from "./crypto/keyring.ts";
export { assertKeysDecryptTokens, undecryptablePlugins } from "./crypto/key-check.ts";
export { nextSteps, type NextStepHint } from "./ops/next-steps.ts";
