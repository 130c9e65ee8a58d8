// Every text the bot sends, in Spanish (the seed's, the default) and English.
export type Lang = "es" | "en";

export const TEXTS = {
  linked: {
    es: "✅ ¡Bot vinculado con éxito! Ya puedes enviarme notas de voz o texto.",
    en: "✅ Bot linked successfully! You can now send me voice notes or text.",
  },
  received: {
    es: (codigo: string) => `✅ Recibido. Encolando... [${codigo}]`,
    en: (codigo: string) => `✅ Received. Queuing... [${codigo}]`,
  },
  notLinked: {
    es: "⚠️ Este bot aún no está vinculado, así que no he guardado tu mensaje. Envía /start seguido de tu código de verificación (JOE-XXXX) para vincularlo.",
    en: "⚠️ This bot is not linked yet, so your message was not saved. Send /start followed by your verification code (JOE-XXXX) to link it.",
  },
  missingCode: {
    es: "👋 Para vincular este bot envía /start seguido de tu código de verificación, por ejemplo: /start JOE-A1B2",
    en: "👋 To link this bot send /start followed by your verification code, for example: /start JOE-A1B2",
  },
  wrongCode: {
    es: (left: number) => `❌ Código de verificación incorrecto. Te quedan ${left} intento(s).`,
    en: (left: number) => `❌ Wrong verification code. ${left} attempt(s) left.`,
  },
  chatLockedOut: {
    es: (minutes: number) => `⏳ Demasiados intentos fallidos. Vuelve a intentarlo en ${minutes} min.`,
    en: (minutes: number) => `⏳ Too many failed attempts. Try again in ${minutes} min.`,
  },
  botLockedOut: {
    es: "🔒 La vinculación de este bot está bloqueada por demasiados intentos fallidos. Su dueño debe generar un código nuevo (plugin unlink).",
    en: "🔒 Linking this bot is locked after too many failed attempts. Its owner must issue a new code (plugin unlink).",
  },
  linkedElsewhere: {
    es: "🔒 Este bot ya está vinculado a otro chat.",
    en: "🔒 This bot is already linked to another chat.",
  },
  alreadyLinked: {
    es: "✅ Este chat ya está vinculado. Envíame notas de voz o texto.",
    en: "✅ This chat is already linked. Send me voice notes or text.",
  },
  unsupported: {
    es: "ℹ️ Solo puedo guardar mensajes de texto y notas de voz.",
    en: "ℹ️ I can only take text messages and voice notes.",
  },
  voiceTitle: {
    es: (d: string) => `🎤 Nota de voz (${d})`,
    en: (d: string) => `🎤 Voice note (${d})`,
  },
  transcriptLabel: { es: "🎤", en: "🎤" },
  transcriptEmpty: {
    es: "🎤 (no se reconoció ninguna palabra)",
    en: "🎤 (no speech recognized)",
  },
  transcriptFailed: {
    es: (codigo: string, reason: string) => `⚠️ No pude transcribir la nota de voz [${codigo}]: ${reason}`,
    en: (codigo: string, reason: string) => `⚠️ I could not transcribe the voice note [${codigo}]: ${reason}`,
  },
} as const;

/** Spanish by default; English when the plugin says so or the sender's language_code starts with "en". */
export function chooseLang(pluginLang: unknown, languageCode: string | undefined): Lang {
  if (pluginLang === "en" || pluginLang === "es") return pluginLang;
  return languageCode?.toLowerCase().startsWith("en") ? "en" : "es";
}
