// The package's export map: one line per module, grouped the way the folders are. Reading this
// file top to bottom is the quickest tour of the code.

// Configuration, logging, errors
export { loadConfig, ConfigError, type Config } from "./config.ts";
export { createLogger, scrub, type Logger } from "./log.ts";
export { ERRORS, JoeError, type ErrorCode } from "./errors.ts";

// HTTP: buildApp(deps) without listen(), and the runtime that listens and runs workers
export { buildApp, type AppDeps } from "./app.ts";
export { openRuntime, startServer, startWorker, startSender, stopOnSignals, type Runtime, type Running } from "./runtime.ts";

// The webhook's way: route → verify → parse → decide (pure) → plan (pure) → the dialect's one
// writer → commit → 200, many updates per commit (group commit)
export { registerWebhook, WEBHOOK_PATH, BODY_LIMIT } from "./webhook/route.ts";
export { decide, LIMITS, EMPTY_CHAT, type Decision, type ChatState, type Outcome, type ReplyKind } from "./webhook/decide.ts";
export { planBatch, type Plan, type PlanJob, type PlanState } from "./webhook/plan.ts";
export { writePlans, type ApplyResult } from "./webhook/write-plans.ts";
export { GroupCommitter } from "./webhook/group-commit.ts";
export { writeBatch, type BatchJob, type BatchWriter } from "./webhook/write-batch.ts";
export { TASK_ESTADO_INICIAL } from "./webhook/rows.ts";
export type { PluginState } from "./plugins/state.ts";

// Outgoing messages: the worker and its rules
export { OutboxSender } from "./outbox/sender.ts";
export { classifySendError, backoffMs, chatPaceMs, PACE } from "./outbox/policy.ts";
export { BotLimiter } from "./outbox/bot-limiter.ts";
export { pruneProcessedUpdates } from "./outbox/maintenance.ts";

// Telegram: what we read of an update, what the bot says, the Bot API client
export { parseUpdate, type ParsedUpdate, type IncomingMessage } from "./telegram/update.ts";
export { TEXTS, chooseLang, type Lang } from "./telegram/texts.ts";
export { createBotApi } from "./telegram/api.ts";

// Data: users, plugins, tasks
export { createUser, findUser, listUsers } from "./users/store.ts";
export { createPlugin, listPlugins, getPluginRow, unlinkPlugin, rotateWebhookSecret, rotateTokens, toPublic, deepLink } from "./plugins/store.ts";
export { PluginDirectory } from "./plugins/directory.ts";
export { listTasks, toPublicTask } from "./tasks/store.ts";
export { taskCodigo, taskIdFromCodigo } from "./tasks/codigo.ts";
export { titleFromText, formatDuration } from "./tasks/title.ts";
export { claimTasks, transitionTask, requeueExpired, getTask, toApiTask, ESTADOS, type ApiTask, type Estado } from "./tasks/lifecycle.ts";
export { listUserTasks, encodeCursor, decodeCursor } from "./tasks/query.ts";
export { deletePlugin as deleteUserPlugin } from "./plugins/remove.ts";

// Storage: one Kysely code path, dialect differences behind the seam
export { openStore, isPostgresUrl, type Store } from "./db/connect.ts";
export { migrate } from "./db/migrations.ts";
export type { DialectSeam, Db, Tx, WebhookWriter, WriteOutcome } from "./db/dialect.ts";
export type { Database } from "./db/schema.ts";

// Crypto
export { encrypt, decrypt, generateKey, MultiFernet, FernetError } from "./crypto/fernet.ts";
export { loadKeys } from "./crypto/keyring.ts";

// The event feed: reading in commit order, waking readers, outgoing webhooks
export { readEvents, headPosition, type FeedItem } from "./feed/read.ts";
export { FeedNotifier } from "./feed/notifier.ts";
export { SubscriptionDeliverer } from "./feed/deliver.ts";
export { createSubscription, listSubscriptions, deleteSubscription } from "./feed/subscriptions.ts";
export { signBody } from "./feed/signature.ts";
// Polling mode, metrics, first-run checks
export { PollingManager } from "./polling/manager.ts";
export { BotPoller, pollBackoffMs } from "./polling/poller.ts";
export { deliveryModeOf, setDeliveryMode, ALLOWED_UPDATES, type DeliveryMode } from "./polling/mode.ts";
export { readPollingState, tryLease, releaseLease, advanceOffset, type PollingStatus } from "./polling/state.ts";
export { registerMetrics } from "./metrics/route.ts";
export { registry as metricsRegistry, reportOutcome } from "./metrics/registry.ts";
export { nextSteps, NEXT_STEP_HINTS, type NextStepHint } from "./ops/next-steps.ts";
export { assertKeysDecryptTokens, undecryptablePlugins } from "./crypto/key-check.ts";
export { deletePlugin, setPluginToken } from "./plugins/manage.ts";
export { assertNotDuplicate, botIdOfToken } from "./plugins/duplicates.ts";
