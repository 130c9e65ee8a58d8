// The first start: with no user in the database, `serve` creates `admin` and prints a sign-in
// link for it, so `npm install && npm start` leads straight to the dashboard. The link is a
// credential: it is printed on the console (stdout) once and never written to the logs.
import type { Db, DialectSeam } from "../db/dialect.ts";
import type { Logger } from "../log.ts";
import { createUser } from "../users/store.ts";
import { JoeError } from "../errors.ts";
import { createLoginLink, loginUrl, LOGIN_LINK_TTL_MS } from "./auth-store.ts";

export const FIRST_USER = "admin";

/** The base of sign-in links: PUBLIC_URL, else this machine on the port being listened on. */
export function dashboardBase(publicUrl: string | undefined, port: number | string): string {
  return (publicUrl ?? `http://localhost:${port}`).replace(/\/+$/, "");
}

export async function firstRunSignIn(deps: {
  db: Db;
  seam: DialectSeam;
  logger: Logger;
  publicUrl?: string;
  port: number | string;
  print?: (line: string) => void;
}): Promise<string | null> {
  const anyUser = await deps.db.selectFrom("users").select("id").limit(1).executeTakeFirst();
  if (anyUser) return null;
  let user: Awaited<ReturnType<typeof createUser>>;
  try {
    user = await createUser(deps.db, deps.seam, FIRST_USER);
  } catch (err) {
    // Another instance starting at the same moment created it: it prints the link.
    if (err instanceof JoeError && err.code === "USER_EXISTS") return null;
    throw err;
  }
  const { token } = await createLoginLink(deps.db, user.id);
  const url = loginUrl(dashboardBase(deps.publicUrl, deps.port), token);
  const minutes = Math.round(LOGIN_LINK_TTL_MS / 60_000);
  (deps.print ?? ((l) => process.stdout.write(l + "\n")))(
    `Dashboard: open ${url} to sign in as ${FIRST_USER} (works once, for ${minutes} min; a new one: npx joe-telegram user login-link ${FIRST_USER})`,
  );
  deps.logger.info({ username: FIRST_USER }, "dashboard: first start, user created; its sign-in link is printed on the console");
  return url;
}
