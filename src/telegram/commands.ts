// The commands Telegram's menu shows for a bot (setMyCommands): in Spanish and in English, each for
// the users whose app is in that language, and in the bot's own language for everyone else.
import type { Api } from "grammy";
import { TEXTS, type Lang } from "./texts.ts";

export async function registerBotCommands(api: Api, idioma: Lang | undefined): Promise<void> {
  const copy = (lang: Lang) => TEXTS.commands[lang].map((c) => ({ ...c }));
  await api.setMyCommands(copy(idioma ?? "es"));
  for (const lang of ["es", "en"] as const) await api.setMyCommands(copy(lang), { language_code: lang });
}
