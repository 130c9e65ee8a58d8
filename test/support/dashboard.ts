// A browser-less client for the dashboard: real HTTP (fetch, redirects not followed), a cookie
// jar, and the CSRF token read from each page the way a browser's form would carry it.
import type { Db } from "../../src/db/dialect.ts";
import { createLoginLink } from "../../src/dashboard/auth-store.ts";

export interface Page {
  status: number;
  location: string | null;
  body: string;
  setCookies: string[];
}

export class DashClient {
  readonly cookies = new Map<string, string>();
  csrf: string | null = null;
  constructor(readonly baseUrl: string) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  private async handle(res: Response): Promise<Page> {
    const setCookies = res.headers.getSetCookie();
    for (const c of setCookies) {
      const [pair] = c.split(";");
      const eq = pair!.indexOf("=");
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1);
      if (value === "" || /max-age=0|expires=thu, 01 jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const body = await res.text();
    const m = /name="_csrf" value="([^"]+)"/.exec(body);
    if (m) this.csrf = m[1]!;
    return { status: res.status, location: res.headers.get("location"), body, setCookies };
  }

  async get(path: string): Promise<Page> {
    const res = await fetch(this.baseUrl + path, { redirect: "manual", headers: { cookie: this.cookieHeader() } });
    return this.handle(res);
  }

  /** POST a form; `_csrf` is added from the last page unless `csrf: false` (or a given value). */
  async post(path: string, fields: Record<string, string> = {}, opts: { csrf?: boolean | string } = {}): Promise<Page> {
    const form = new URLSearchParams(fields);
    if (opts.csrf !== false) form.set("_csrf", typeof opts.csrf === "string" ? opts.csrf : (this.csrf ?? ""));
    const res = await fetch(this.baseUrl + path, {
      method: "POST",
      redirect: "manual",
      body: form.toString(),
      headers: { cookie: this.cookieHeader(), "content-type": "application/x-www-form-urlencoded" },
    });
    return this.handle(res);
  }

  /** Sign in through a fresh login link, as a person clicking it and pressing "Sign in". */
  async signIn(db: Db, usuarioId: number): Promise<void> {
    const { token } = await createLoginLink(db, usuarioId);
    await this.signInWith(token);
  }

  async signInWith(token: string): Promise<Page> {
    const page = await this.get(`/login/${token}`);
    if (page.status !== 200) return page;
    const r = await this.post(`/login/${token}`);
    if (r.status !== 303 || !this.cookies.has("joe_session")) throw new Error(`sign-in failed: ${r.status} ${r.body.slice(0, 300)}`);
    return r;
  }
}
