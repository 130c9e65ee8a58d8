// `serve` (HTTP + workers, what `npm start` runs) and `worker` (the sender alone).
import type { Command } from "commander";
import { loadConfig } from "../../config.ts";
import { createLogger } from "../../log.ts";
import { openRuntime, startServer, startWorker, stopOnSignals } from "../../runtime.ts";
import { printError } from "../output.ts";
import { firstRunSignIn } from "../../dashboard/first-run.ts";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("run the HTTP server (webhook) and, unless --no-workers, the background workers")
    .option("--no-workers", "HTTP only: run workers separately with `joe-telegram worker`")
    .option("--port <port>", "port to listen on (default: PORT or 8080)")
    .option("--json", "print errors as JSON")
    .action(async (o: { workers: boolean; port?: string; json?: boolean }) => {
      try {
        const config = loadConfig(o.port ? { ...process.env, PORT: o.port } : process.env);
        const logger = createLogger(config.LOG_LEVEL);
        const rt = await openRuntime({ config, logger });
        const starting = startServer(rt, { workers: o.workers });
        stopOnSignals(starting, logger);
        const running = await starting;
        // First start with no user: create one and print its dashboard sign-in link.
        await firstRunSignIn({ db: rt.store.db, seam: rt.store.seam, logger, publicUrl: config.PUBLIC_URL, port: new URL(running.url!).port }).catch((err) =>
          logger.warn({ err }, "dashboard: could not create the first user"),
        );
      } catch (err) {
        process.exitCode = printError(o, err);
      }
    });

  program
    .command("worker")
    .description("run the background workers only (outgoing messages); any number may run on PostgreSQL")
    .option("--json", "print errors as JSON")
    .action(async (o: { json?: boolean }) => {
      try {
        const config = loadConfig();
        const logger = createLogger(config.LOG_LEVEL);
        const rt = await openRuntime({ config, logger });
        const starting = startWorker(rt);
        stopOnSignals(starting, logger);
        await starting;
      } catch (err) {
        process.exitCode = printError(o, err);
      }
    });
}
