// A complete Joe worker: claim tasks, do the work, report the result (the bot tells the chat).
// Run: JOE_URL=http://localhost:8080 JOE_TOKEN=joe_... npx tsx examples/worker.ts
const base = `${process.env.JOE_URL ?? "http://localhost:8080"}/api/v1`;
const headers = { authorization: `Bearer ${process.env.JOE_TOKEN}`, "content-type": "application/json" };

async function post(path: string, body: object): Promise<any> {
  for (;;) {
    const r = await fetch(base + path, { method: "POST", headers, body: JSON.stringify(body) });
    if (r.status === 429) {
      // over the token's rate limit: wait as told
      await new Promise((res) => setTimeout(res, Number(r.headers.get("retry-after") ?? 1) * 1000));
      continue;
    }
    if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return r.json();
  }
}

// Your work goes here: a task has codigo, titulo, tipo, metadatos_extra.texto_original, ...
async function work(task: { codigo: string; titulo: string }): Promise<string> {
  return `"${task.titulo}" anotado`;
}

for (;;) {
  // Up to 10 of the oldest queued tasks, each ours for 60 s (not reported by then: back to the queue).
  const { items } = await post("/tasks/claim", { limit: 10, lease_seconds: 60 });
  if (items.length === 0) {
    if (process.env.JOE_EXIT_WHEN_IDLE) break;
    await new Promise((r) => setTimeout(r, 2000));
    continue;
  }
  for (const task of items) {
    // lease_id names this claim: if our lease ran out and another worker claimed the task, 409.
    try {
      await post(`/tasks/${task.codigo}/complete`, { resultado: await work(task), lease_id: task.lease_id });
    } catch (err) {
      await post(`/tasks/${task.codigo}/fail`, { error: String(err), lease_id: task.lease_id }).catch(console.error);
    }
  }
}
