// A worker process for the concurrency test: claims batches over HTTP, "works" WORK_MS per task,
// completes each, and prints one line per event (claimed / done / lost) so the test can check
// that every task was done exactly once. Runs until killed.
const base = `${process.env.JOE_URL}/api/v1`;
const headers = { authorization: `Bearer ${process.env.JOE_TOKEN}`, "content-type": "application/json" };
const workMs = Number(process.env.WORK_MS ?? "0");

async function post(path: string, body: object): Promise<{ status: number; body: any }> {
  for (;;) {
    const r = await fetch(base + path, { method: "POST", headers, body: JSON.stringify(body) });
    // The per-token rate limit: wait as told, as a well-behaved worker does.
    if (r.status === 429) {
      await r.text();
      await new Promise((res) => setTimeout(res, Number(r.headers.get("retry-after") ?? "1") * 1000));
      continue;
    }
    return { status: r.status, body: await r.json() };
  }
}

for (;;) {
  const c = await post("/tasks/claim", { limit: 10, lease_seconds: 10 });
  if (c.status !== 200) {
    console.log(`error claim ${c.status}`);
    await new Promise((r) => setTimeout(r, 100));
    continue;
  }
  if (c.body.items.length === 0) {
    await new Promise((r) => setTimeout(r, 50));
    continue;
  }
  console.log(`claimed ${c.body.items.map((t: { codigo: string }) => t.codigo).join(" ")}`);
  for (const t of c.body.items as Array<{ codigo: string; lease_id: string }>) {
    if (workMs) await new Promise((r) => setTimeout(r, workMs));
    const d = await post(`/tasks/${t.codigo}/complete`, { resultado: `by ${process.pid}`, notify: false, lease_id: t.lease_id });
    console.log(d.status === 200 ? `done ${t.codigo}` : `lost ${t.codigo} ${d.status}`);
  }
}
