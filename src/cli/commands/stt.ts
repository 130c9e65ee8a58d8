// `stt install` (build whisper.cpp for this machine), `stt fetch-model <name>`, `stt status`.
import type { Command } from "commander";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import cliProgress from "cli-progress";
import { withRuntime } from "../context.ts";
import { print, printError } from "../output.ts";
import { JoeError } from "../../errors.ts";
import { fetchModel, WHISPER_MODELS, type FetchProgress } from "../../stt/models.ts";
import { STT_RUNTIME_DIR, WHISPER_BINDING, whisperInstalled } from "../../stt/whisper-runtime.ts";
import { loadConfig } from "../../config.ts";
import { retryFailedSttJobs } from "../../stt/jobs.ts";
import { taskIdFromCodigo } from "../../tasks/codigo.ts";

export function registerStt(program: Command): void {
  const stt = program.command("stt").description("voice transcription (STT_PROVIDER=local|openai|none)");

  stt
    .command("install")
    .description("build whisper.cpp for this machine (for STT_PROVIDER=local; needs a C++ compiler, ~1-2 min)")
    .option("--portable", "build without this CPU's vector instructions (a binary that runs on any x86-64; ~5x slower)")
    .option("--json", "print JSON")
    .action(async (o: { portable?: boolean; json?: boolean }) => {
      try {
        fs.mkdirSync(STT_RUNTIME_DIR, { recursive: true });
        fs.writeFileSync(
          path.join(STT_RUNTIME_DIR, "package.json"),
          JSON.stringify(
            {
              private: true,
              description: "whisper.cpp for Joe's STT_PROVIDER=local, built by `joe-telegram stt install`",
              dependencies: { [WHISPER_BINDING.name]: WHISPER_BINDING.version },
            },
            null,
            2,
          ),
        );
        // -march=native: whisper.cpp's matrix kernels use the CPU's AVX/AVX2/FMA, several times faster (bench/NOTES.md).
        const flags = o.portable ? "-O3" : "-O3 -march=native";
        if (!o.json)
          process.stderr.write(`Building ${WHISPER_BINDING.name}@${WHISPER_BINDING.version} (whisper.cpp) into ${STT_RUNTIME_DIR} with ${flags} …\n`);
        const code = await new Promise<number>((resolve) => {
          const p = spawn("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock", "--foreground-scripts"], {
            cwd: STT_RUNTIME_DIR,
            stdio: ["ignore", o.json ? "ignore" : "inherit", o.json ? "ignore" : "inherit"],
            env: { ...process.env, CFLAGS: flags, CXXFLAGS: flags },
          });
          p.on("exit", (c) => resolve(c ?? 1));
          p.on("error", () => resolve(1));
        });
        if (code !== 0 || !whisperInstalled())
          throw new JoeError(
            "INTERNAL",
            `building whisper.cpp failed (npm exited ${code}); it needs python3, make and a C++ compiler (Debian: apt-get install build-essential python3)`,
          );
        print(
          o,
          { ok: true, dir: STT_RUNTIME_DIR, flags },
          () => `whisper.cpp is built. Next: a model (npx joe-telegram stt fetch-model base), then STT_PROVIDER=local WHISPER_MODEL=<file> npm start`,
        );
      } catch (err) {
        process.exitCode = printError(o, err);
      }
    });

  stt
    .command("fetch-model <name>")
    .description(`download a whisper.cpp model, checksum-verified (${Object.keys(WHISPER_MODELS).join(", ")})`)
    .option("--dir <dir>", "where to save it (default: DATA_DIR/models)")
    .option("--json", "print JSON")
    .action(async (name: string, o: { dir?: string; json?: boolean }) => {
      try {
        const config = loadConfig();
        const dir = o.dir ?? path.join(config.DATA_DIR, "models");
        let bar: cliProgress.SingleBar | undefined;
        const progress: FetchProgress | undefined = o.json
          ? undefined
          : {
              start: (total) => {
                bar = new cliProgress.SingleBar(
                  { format: `ggml-${name}.bin [{bar}] {percentage}% | {value}/{total} MB`, stream: process.stderr },
                  cliProgress.Presets.shades_classic,
                );
                bar.start(Math.round(total / 1048576), 0);
              },
              update: (done) => bar?.update(Math.round(done / 1048576)),
              stop: () => bar?.stop(),
            };
        const r = await fetchModel(name, dir, { baseUrl: process.env.WHISPER_MODEL_BASE_URL, progress });
        print(
          o,
          { ok: true, ...r },
          () => `Saved ${r.file} (${(r.bytes / 1048576).toFixed(1)} MB, SHA-1 verified).\nUse it: STT_PROVIDER=local WHISPER_MODEL=${r.file} npm start`,
        );
      } catch (err) {
        process.exitCode = printError(o, err instanceof JoeError ? err : new JoeError("INVALID_INPUT", (err as Error).message));
      }
    });

  stt
    .command("retry [codigo...]")
    .description("put failed voice notes (all, or these task codes) back in the transcription queue")
    .option("--json", "print JSON")
    .action((codigos: string[], o: { json?: boolean }) =>
      withRuntime(o, async (rt) => {
        const ids = codigos.length
          ? codigos.map((c) => {
              const id = taskIdFromCodigo(c);
              if (id === null) throw new JoeError("INVALID_INPUT", `${c} is not a task code (T-XXXX)`);
              return id;
            })
          : undefined;
        const n = await retryFailedSttJobs(rt.store.db, Date.now(), ids);
        print(o, { ok: true, requeued: n }, () => `${n} voice note(s) back in the transcription queue.`);
      }),
    );

  stt
    .command("status")
    .description("voice notes waiting for, in, or failed transcription")
    .option("--json", "print JSON")
    .action((o: { json?: boolean }) =>
      withRuntime(o, async (rt) => {
        const rows = await rt.store.db
          .selectFrom("stt_jobs")
          .innerJoin("tasks", "tasks.id", "stt_jobs.task_id")
          .select(["tasks.codigo", "stt_jobs.estado", "stt_jobs.attempts", "stt_jobs.last_error", "stt_jobs.next_attempt_at"])
          .where("stt_jobs.estado", "!=", "done")
          .orderBy("stt_jobs.task_id", "desc")
          .limit(100)
          .execute();
        const out = rows.map((r) => ({
          codigo: r.codigo,
          estado: r.estado,
          attempts: Number(r.attempts),
          last_error: r.last_error,
          next_attempt_at: Number(r.next_attempt_at),
        }));
        print(o, { provider: rt.config.STT_PROVIDER, installed: whisperInstalled(), jobs: out }, () =>
          [
            `provider: ${rt.config.STT_PROVIDER}${rt.config.STT_PROVIDER === "local" ? ` (whisper.cpp ${whisperInstalled() ? "built" : "NOT built: npx joe-telegram stt install"})` : ""}`,
            ...(out.length
              ? out.map((j) => `  ${j.codigo}\t${j.estado}\tattempts ${j.attempts}\t${j.last_error ?? ""}`)
              : ["  no voice note waiting or failed"]),
          ].join("\n"),
        );
      }),
    );
}
