// The Bot API client: grammY's raw `Api`, pointed at TELEGRAM_API_ROOT (the fake server in tests).
// One client per bot token, with keep-alive so the sender does not pay a TLS/TCP handshake per message.
import { Api } from "grammy";
import http from "node:http";
import https from "node:https";

const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64 });

export function createBotApi(token: string, apiRoot: string, timeoutSeconds = 10): Api {
  const agent = apiRoot.startsWith("https:") ? httpsAgent : httpAgent;
  return new Api(token, {
    apiRoot,
    timeoutSeconds,
    // grammY passes this to node-fetch; `compress: false` avoids gzip work on tiny JSON bodies.
    baseFetchConfig: { agent, compress: false },
  });
}
