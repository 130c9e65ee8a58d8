// A fake OpenAI-compatible transcription API (POST /v1/audio/transcriptions, multipart with
// `file` and `model`), over real HTTP on loopback. It records each upload as received and
// answers with a transcript of the test's choosing, or a fault (an error status, a hang).
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface SttUpload {
  model: string | null;
  language: string | null;
  filename: string | null;
  fileType: string | null;
  bytes: Uint8Array;
  authorization: string | null;
  at: number;
}

export type SttFault = { status: number; retryAfter?: number; message?: string } | { hang: true };

export interface FakeStt {
  url: string;
  uploads: SttUpload[];
  /** What to answer for an upload (default: "transcripción de prueba"). */
  respond: (u: SttUpload) => string;
  /** Faults answered to the next uploads, in order. */
  faults: SttFault[];
  close(): Promise<void>;
}

export async function startFakeStt(): Promise<FakeStt> {
  const hung = new Set<http.ServerResponse>();
  const fake: FakeStt = {
    url: "",
    uploads: [],
    respond: () => "transcripción de prueba",
    faults: [],
    close: async () => {
      for (const r of hung) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (req.method !== "POST" || req.url !== "/v1/audio/transcriptions") {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "not found" } }));
      return;
    }
    let form: FormData;
    try {
      form = await new Request("http://x/", { method: "POST", headers: { "content-type": req.headers["content-type"] ?? "" }, body }).formData();
    } catch {
      res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "expected multipart/form-data" } }));
      return;
    }
    const file = form.get("file");
    const upload: SttUpload = {
      model: form.get("model") as string | null,
      language: form.get("language") as string | null,
      filename: file instanceof File ? file.name : null,
      fileType: file instanceof File ? file.type : null,
      bytes: file instanceof File ? new Uint8Array(await file.arrayBuffer()) : new Uint8Array(),
      authorization: req.headers.authorization ?? null,
      at: Date.now(),
    };
    fake.uploads.push(upload);
    const fault = fake.faults.shift();
    if (fault && "hang" in fault) {
      hung.add(res);
      res.on("close", () => hung.delete(res));
      return;
    }
    if (fault) {
      res
        .writeHead(fault.status, { "content-type": "application/json", ...(fault.retryAfter ? { "retry-after": String(fault.retryAfter) } : {}) })
        .end(JSON.stringify({ error: { message: fault.message ?? "fake failure" } }));
      return;
    }
    if (!upload.model || !(file instanceof File)) {
      res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: { message: "file and model are required" } }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ text: fake.respond(upload) }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return fake;
}
