// Benchmark 1a, the ceiling: a bare Fastify route on Joe's webhook path answering {"ok":true}.
// Same Fastify version as Joe, default JSON body parsing, no logging. Run as a child process by
// bench/run.ts (PORT from the environment); prints "ready" once listening.
import Fastify from "fastify";

const app = Fastify({ logger: false, routerOptions: { ignoreTrailingSlash: true }, bodyLimit: 256 * 1024 });
app.get("/healthz", async () => ({ ok: true }));
app.post("/plugins/telegram/webhook/:pluginId/", async () => ({ ok: true }));

await app.listen({ port: Number(process.env.PORT ?? 0), host: "127.0.0.1" });
process.stdout.write("ready\n");
const stop = () => void app.close().then(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
