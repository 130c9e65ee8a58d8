// The one table of error codes: every error the HTTP API or the CLI reports comes from here,
// with its status code and a message that never carries a secret. The body every error is
// answered with (HTTP and `--json`) is built by errorBody() below, nowhere else.
export const ERRORS = {
  BAD_SECRET: { status: 401, message: "missing or wrong X-Telegram-Bot-Api-Secret-Token" },
  PLUGIN_NOT_FOUND: { status: 404, message: "no Telegram plugin with that id" },
  BODY_TOO_LARGE: { status: 413, message: "request body too large (at most 256 KB)" },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: "unsupported Content-Type: send updates and API requests as application/json" },
  INVALID_JSON: { status: 400, message: "body is not valid JSON" },
  STORAGE_UNAVAILABLE: { status: 503, message: "storage unavailable, please retry" },
  INTERNAL: { status: 500, message: "internal error" },
  NOT_FOUND: { status: 404, message: "not found" },
  USER_NOT_FOUND: { status: 404, message: "no such user" },
  USER_EXISTS: { status: 409, message: "a user with that username already exists" },
  INVALID_INPUT: { status: 400, message: "invalid input" },
  BOT_API: { status: 502, message: "the Telegram Bot API refused the call" },
  NO_PUBLIC_URL: { status: 400, message: "no webhook base URL: pass --url or set PUBLIC_URL" },
  KEY_MISMATCH: { status: 500, message: "a stored token cannot be decrypted with FERNET_KEYS" },
  CONFIG: { status: 500, message: "configuration error" },
  UNAUTHORIZED: {
    status: 401,
    message: "missing or invalid API token: send Authorization: Bearer <token> (create one with `npx joe-telegram user token create <username>`)",
  },
  SHUTTING_DOWN: { status: 503, message: "the server is shutting down, please retry (another instance or in a moment)" },
  UNSUPPORTED_ENCODING: { status: 415, message: "unsupported Content-Encoding: send the update uncompressed (identity) or gzip" },
  REQUEST_TIMEOUT: { status: 408, message: "the request did not arrive in time" },
  HEADERS_TOO_LARGE: { status: 431, message: "request headers too large" },
  PORT_IN_USE: { status: 500, message: "the port is already in use" },
  TASK_NOT_FOUND: { status: 404, message: "no task with that code for this token's user" },
  INVALID_TRANSITION: { status: 409, message: "that change of state is not allowed" },
  RATE_LIMITED: { status: 429, message: "too many requests for this API token: wait for the seconds in Retry-After" },
  PLUGIN_EXISTS: { status: 409, message: "that bot is already registered as a plugin" },
  PLUGIN_HAS_OPEN_TASKS: { status: 409, message: "the plugin still has queued or in-progress tasks: finish or cancel them, or pass ?force=true" },
  SUBSCRIPTION_NOT_FOUND: { status: 404, message: "no subscription with that id" },
  KEYS_CANNOT_DECRYPT: { status: 500, message: "stored bot tokens cannot be decrypted with the configured keys" },
  PLUGIN_HAS_TASKS: { status: 409, message: "the plugin has tasks" },
  TOKEN_MISMATCH: { status: 400, message: "the token belongs to another bot" },
  // The web dashboard (src/dashboard/).
  SIGN_IN_REQUIRED: { status: 401, message: "sign in first: run `npx joe-telegram user login-link <username>` and open the link it prints" },
  LOGIN_LINK_INVALID: {
    status: 400,
    message: "this sign-in link is unknown, already used or expired: run `npx joe-telegram user login-link <username>` for a new one",
  },
  CSRF_INVALID: { status: 403, message: "the form is out of date or came from another site: reload the page and try again" },
  BOT_ALREADY_ADDED: { status: 409, message: "this bot is already added" },
  BOT_TOKEN_REFUSED: { status: 400, message: "Telegram does not accept this token: copy it again from @BotFather (/mybots → API Token)" },
  TASK_TRANSITION_REFUSED: { status: 409, message: "the task's state does not allow this change" },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class JoeError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, detail?: string) {
    super(detail ? `${ERRORS[code].message}: ${detail}` : ERRORS[code].message);
    this.code = code;
    this.status = ERRORS[code].status;
  }
}

/** The error body of the webhook, the API, the dashboard's JSON and the CLI's `--json`: Telegram's own shape. */
export interface ErrorBody {
  ok: false;
  error_code: ErrorCode;
  description: string;
}

/** `description` defaults to the table's message for the code. */
export function errorBody(code: ErrorCode, description: string = ERRORS[code].message): ErrorBody {
  return { ok: false, error_code: code, description };
}
