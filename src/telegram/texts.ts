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
    es: (until: number, now: number) => `⏳ Demasiados intentos fallidos. Vuelve a intentarlo a partir de las ${clock(until)} (en ${wait(until - now)}).`,
    en: (until: number, now: number) => `⏳ Too many failed attempts. Try again from ${clock(until)} (in ${wait(until - now)}).`,
  },
  botLockedOut: {
    es: (until: number, now: number) =>
      `🔒 La vinculación de este bot está bloqueada por demasiados intentos fallidos hasta las ${clock(until)} (en ${wait(until - now)}). Su dueño puede levantarla ya con un código nuevo (plugin unlink).`,
    en: (until: number, now: number) =>
      `🔒 Linking this bot is locked after too many failed attempts until ${clock(until)} (in ${wait(until - now)}). Its owner can lift it now with a new code (plugin unlink).`,
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
    es: "ℹ️ Solo puedo guardar mensajes de texto, notas de voz, fotos y documentos.",
    en: "ℹ️ I can only take text messages, voice notes, photos and documents.",
  },
  emptyText: {
    es: "ℹ️ El mensaje está vacío: no he creado ninguna tarea.",
    en: "ℹ️ The message is empty: no task was created.",
  },
  voiceTitle: {
    es: (d: string) => `🎤 Nota de voz (${d})`,
    en: (d: string) => `🎤 Voice note (${d})`,
  },
  // Results reported by a worker through the API (POST /api/v1/tasks/{codigo}/complete|fail).
  taskDone: {
    es: (codigo: string, resultado?: string) => `✔️ Hecho [${codigo}]${resultado ? `: ${resultado}` : ""}`,
    en: (codigo: string, resultado?: string) => `✔️ Done [${codigo}]${resultado ? `: ${resultado}` : ""}`,
  },
  taskFailed: {
    es: (codigo: string, error: string) => `❌ Falló [${codigo}]${error ? `: ${error}` : ""}`,
    en: (codigo: string, error: string) => `❌ Failed [${codigo}]${error ? `: ${error}` : ""}`,
  },
  // The chat's commands and replies (/tareas, /deshacer, edits, photos and documents).
  photoTitle: { es: "📷 Foto", en: "📷 Photo" },
  documentTitle: {
    es: (name: string | null) => `📎 ${name ?? "Documento"}`,
    en: (name: string | null) => `📎 ${name ?? "Document"}`,
  },
  taskListHeader: { es: "📋 Tus últimas tareas:", en: "📋 Your latest tasks:" },
  taskListEmpty: { es: "📋 Aún no hay tareas en este chat.", en: "📋 No tasks in this chat yet." },
  estado: {
    es: { queued: "⏳ en cola", in_progress: "🔧 en curso", done: "✔️ hecha", failed: "❌ fallida", cancelled: "🚫 cancelada" } as Record<string, string>,
    en: { queued: "⏳ queued", in_progress: "🔧 in progress", done: "✔️ done", failed: "❌ failed", cancelled: "🚫 cancelled" } as Record<string, string>,
  },
  undone: {
    es: (codigo: string) => `↩️ Tarea [${codigo}] cancelada.`,
    en: (codigo: string) => `↩️ Task [${codigo}] cancelled.`,
  },
  undoTooLate: {
    es: (codigo: string, estado: string) =>
      `⚠️ No puedo deshacer [${codigo}]: ya no está en cola (${estado}). Solo se puede deshacer una tarea que nadie ha empezado.`,
    en: (codigo: string, estado: string) => `⚠️ I can't undo [${codigo}]: it is no longer queued (${estado}). Only a task nobody has started can be undone.`,
  },
  undoNothing: {
    es: "ℹ️ No hay ninguna tarea que deshacer en este chat.",
    en: "ℹ️ There is no task to undo in this chat.",
  },
  undoNotATask: {
    es: "ℹ️ Ese mensaje no es una tarea. Responde /deshacer a una confirmación (✅ Recibido…) o envía /deshacer para la última.",
    en: "ℹ️ That message is not a task. Reply /undo to a confirmation (✅ Received…) or send /undo for the latest one.",
  },
  editApplied: {
    es: (codigo: string) => `✏️ Tarea [${codigo}] actualizada con tu edición.`,
    en: (codigo: string) => `✏️ Task [${codigo}] updated with your edit.`,
  },
  editNoted: {
    es: (codigo: string, estado: string) => `ℹ️ La tarea [${codigo}] ya no está en cola (${estado}): guardé tu edición como nota, pero la tarea no cambia.`,
    en: (codigo: string, estado: string) => `ℹ️ Task [${codigo}] is no longer queued (${estado}): your edit was kept as a note, but the task does not change.`,
  },
  /** The menu Telegram shows (setMyCommands), per language. */
  commands: {
    es: [
      { command: "tareas", description: "Tus últimas 10 tareas" },
      { command: "deshacer", description: "Cancelar la última tarea (o responde a su confirmación)" },
    ],
    en: [
      { command: "tasks", description: "Your latest 10 tasks" },
      { command: "undo", description: "Cancel the latest task (or reply to its confirmation)" },
    ],
  },
  transcriptLabel: { es: "🎤", en: "🎤" },
  transcriptEmpty: {
    es: "🎤 (no se reconoció ninguna palabra)",
    en: "🎤 (no speech recognized)",
  },
  transcriptFailedGeneric: {
    es: "el servicio de transcripción falló; la nota queda guardada como tarea de voz",
    en: "the transcription service failed; the note stays saved as a voice task",
  },
  notAudio: {
    es: "el archivo no es un audio OGG/Opus legible",
    en: "the file is not readable OGG/Opus audio",
  },
  tooBig: {
    es: "la nota supera los 20 MB que Telegram deja descargar a los bots",
    en: "the note is over the 20 MB Telegram lets bots download",
  },
  transcriptFailed: {
    es: (codigo: string, reason: string) => `⚠️ No pude transcribir la nota de voz [${codigo}]: ${reason}`,
    en: (codigo: string, reason: string) => `⚠️ I could not transcribe the voice note [${codigo}]: ${reason}`,
  },
} as const;

/** "14:32 UTC": the time a lock ends (the bot cannot know the chat's time zone; the wait says it too). */
function clock(at: number): string {
  return `${new Date(at).toISOString().slice(11, 16)} UTC`;
}

/** "15 min", "2 h", "1 h 30 min": a wait, rounded up to the minute (never "0 min"). */
function wait(ms: number): string {
  const minutes = Math.max(1, Math.ceil(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m === 0 ? `${h} h` : `${h} h ${m} min`;
}

/** Spanish by default; English when the plugin says so or the sender's language_code starts with "en". */
export function chooseLang(pluginLang: unknown, languageCode: string | undefined): Lang {
  if (pluginLang === "en" || pluginLang === "es") return pluginLang;
  return languageCode?.toLowerCase().startsWith("en") ? "en" : "es";
}
