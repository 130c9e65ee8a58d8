// The dashboard in a real browser (chromium through playwright-core) against a real `serve`
// process, a real database and the fake Bot API: what a new user does on the first run. The
// first start prints a sign-in link; the user opens it, adds a bot by pasting its token, sees the
// QR code, links the bot with /start (delivered through the webhook route), watches a task
// appear without reloading, cancels it, and does the same on a phone-sized screen.
// Screenshots go to test-results/screenshots/.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { dbTargets, type TestDatabase } from "../support/databases.ts";
import { startFakeBotApi, type FakeBotApi } from "../support/fake-bot-api.ts";
import { startServerProcess, type ServerProcess } from "../support/server-process.ts";
import { freePort } from "../support/child-process.ts";
import { randomToken } from "../support/stack.ts";
import { launchBrowser, screenshotPath, type Browser } from "../support/browser.ts";
import { generateKey } from "../../src/crypto/fernet.ts";
import { until } from "../support/wait.ts";

for (const target of dbTargets()) {
  describe(`dashboard in a browser (${target.name})`, () => {
    let database: TestDatabase;
    let fake: FakeBotApi;
    let server: ServerProcess;
    let browser: Browser;
    let signInUrl: string;
    const token = randomToken();
    const username = `joe_browser_${target.name}_bot`;
    const chat = 8801;
    const shot = (name: string) => screenshotPath(`${target.name}-${name}`);

    before(async () => {
      database = await target.create();
      fake = await startFakeBotApi();
      fake.addBot({ token, username });
      const port = await freePort();
      server = await startServerProcess({
        port,
        env: { DATA_DIR: database.dataDir, DATABASE_URL: database.url, FERNET_KEYS: generateKey(), TELEGRAM_API_ROOT: fake.url },
        // Telegram reaches this server here: a bot added on the dashboard gets its webhook at once.
        extraEnv: { PUBLIC_URL: `http://127.0.0.1:${port}` },
      });
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
      await server?.stop("SIGTERM");
      await fake?.close();
      await database?.drop();
    });

    it("the first start creates a user and prints one line with its sign-in link", async () => {
      const line = await until(
        () =>
          server
            .stdout()
            .split("\n")
            .find((l) => l.startsWith("Dashboard: open ")),
        "the sign-in line",
        30_000,
      );
      signInUrl = /open (\S+) to sign in as admin/.exec(line)![1]!;
      assert.match(signInUrl, /^http:\/\/127\.0\.0\.1:\d+\/login\/[A-Za-z0-9_-]{43}$/);
      const token = signInUrl.split("/").pop()!;
      assert.ok(!server.stderr().includes(token), "the link is not in the logs");
    });

    it("signs in with the link, adds a bot by its token and shows the QR code and the t.me link", async () => {
      const page = await browser.context.newPage();
      await page.goto(signInUrl);
      await page.click("#sign-in");
      await page.waitForURL(/\/\?m=signed_in$/);
      assert.match((await page.textContent("main")) ?? "", /No bots yet/);
      await page.screenshot({ path: shot("1-signed-in"), fullPage: true });

      await page.click("text=Add your bot");
      await page.fill("#token", token);
      await page.click("#add-bot");
      await page.waitForSelector(".qr svg");
      assert.equal(await page.textContent("h1"), `@${username}`);
      const link = await page.getAttribute("#deep-link", "href");
      assert.match(link!, new RegExp(`^https://t\\.me/${username}\\?start=JOE-[A-Z0-9]{4}$`));
      assert.equal(await page.textContent("#delivery-mode"), "webhook");
      await page.screenshot({ path: shot("2-bot-added-qr"), fullPage: true });

      // /start from the chat, through the webhook as Telegram delivers it: the page turns to "linked" by itself.
      const code = link!.split("start=")[1]!;
      const r = await fake.deliverUpdate(token, fake.makeTextUpdate(token, { chatId: chat, text: `/start ${code}` }));
      assert.equal(r.status, 200);
      await page.waitForSelector("#link-state.linked", { timeout: 30_000 });
      assert.match((await page.textContent("#link-state")) ?? "", /Linked to chat 8801/);
      await page.screenshot({ path: shot("3-linked"), fullPage: true });
      await page.close();
    });

    it("a message becomes a task on the open page without reload; the task is cancelled from its page", async () => {
      const page = await browser.context.newPage();
      await page.goto(signInUrl.replace(/\/login\/.*/, "/"));
      // Marks the document: a reload would lose it.
      await page.evaluate(() => {
        (window as unknown as { joeMark: number }).joeMark = 1;
      });
      const r = await fake.deliverUpdate(token, fake.makeTextUpdate(token, { chatId: chat, text: "Comprar <b>leche</b> y pan" }));
      assert.equal(r.status, 200);
      const item = await page.waitForSelector("li.task:has-text('Comprar <b>leche</b> y pan')", { timeout: 30_000 });
      assert.equal(await page.evaluate(() => (window as unknown as { joeMark?: number }).joeMark), 1, "no reload happened");
      assert.match((await item.textContent()) ?? "", /queued/);
      await page.screenshot({ path: shot("4-task-live"), fullPage: true });

      await page.click("li.task:has-text('Comprar <b>leche</b> y pan') a");
      await page.waitForSelector("#action-cancel");
      assert.match((await page.textContent(".texto")) ?? "", /Comprar <b>leche<\/b> y pan/);
      // The confirmation the bot sent in the chat, with its delivery state.
      await until(() => fake.sentMessages(token).some((m) => /Recibido/.test(m.text)), "confirmation sent", 30_000);
      await page.reload();
      assert.match((await page.textContent(".messages")) ?? "", /Recibido[\s\S]*sent/);
      await page.click("#action-cancel");
      await page.waitForSelector(".estado-cancelled");
      assert.equal(await page.$("#action-cancel"), null, "a cancelled task offers no more actions");
      await page.screenshot({ path: shot("5-task-cancelled"), fullPage: true });
      await page.close();
    });

    it("on a phone-sized screen (390×844) the pages fit the width", async () => {
      const phone = await launchBrowser({ viewport: { width: 390, height: 844 }, isMobile: true });
      try {
        await phone.context.addCookies(await browser.context.cookies());
        const page = await phone.context.newPage();
        for (const [name, path] of [
          ["6-phone-tasks", "/"],
          ["7-phone-bots", "/bots"],
        ] as const) {
          await page.goto(signInUrl.replace(/\/login\/.*/, path));
          await page.waitForSelector("h1");
          const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
          assert.ok(overflow <= 0, `${path} is ${overflow}px wider than the phone`);
          await page.screenshot({ path: shot(name), fullPage: true });
        }
        await page.click(".bots a");
        await page.waitForSelector("#delivery-mode");
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `the bot page is ${overflow}px wider than the phone`);
        await page.screenshot({ path: shot("8-phone-bot"), fullPage: true });
      } finally {
        await phone.close();
      }
    });
  });
}
