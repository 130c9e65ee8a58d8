// The chat's own commands and edits, as pure functions. `decide.ts` turns a message into an
// intent (list, undo, edit) that needs rows to be read first; `write-intent.ts` reads them inside
// the webhook's transaction and asks the functions below what to change and what to answer.
// No I/O here: every rule is a unit test (test/unit/decide.test.ts).
import { TEXTS, type Lang } from "../telegram/texts.ts";
import { titleFromText } from "../tasks/title.ts";

export type ChatCommand = "list_tasks" | "undo";

/** Outcomes of the chat's commands and edits (decide.ts's Outcome includes them). */
export type ChatOutcome = "command:list_tasks" | "command:undo" | UndoDecision["outcome"] | EditDecision["outcome"];

const COMMAND_RE = /^\/(tareas|tasks|deshacer|undo)(?:@([A-Za-z0-9_]+))?(?:\s[\s\S]*)?$/i;

/** `/tareas`, `/tasks`, `/deshacer`, `/undo` (also `@botname`, and with words after them); null for anything else. */
export function parseChatCommand(text: string | undefined): { command: ChatCommand; bot?: string } | null {
  if (!text) return null;
  const m = COMMAND_RE.exec(text.trim());
  if (!m) return null;
  const name = m[1]!.toLowerCase();
  return { command: name === "tareas" || name === "tasks" ? "list_tasks" : "undo", bot: m[2] };
}

/** What decide() asks the writer to do: each needs the chat's tasks, read inside the transaction (write-intent.ts). */
export type ChatIntent =
  | { kind: "list_tasks"; lang: Lang; replyTo: number }
  /** Undo the task of the message replied to, or the chat's last task. */
  | { kind: "undo"; lang: Lang; replyTo: number; target: { kind: "reply"; messageId: number } | { kind: "last" } }
  /** A message was edited: its task (if any) takes the new text while it is queued. */
  | { kind: "edit"; lang: Lang; messageId: number; text: string; editedAt: string; fallbackTitle?: string };

/** What the chat commands read of a task. */
export interface TaskSnapshot {
  id: number;
  codigo: string;
  estado: string;
  titulo: string;
  tipo: string;
  metadatos_extra: Record<string, unknown>;
}

export const TASK_LIST_SIZE = 10;
/** Titles in the list are cut shorter than stored titles: ten of them fit one message comfortably. */
const LIST_TITLE_MAX = 80;

export function estadoLabel(estado: string, lang: Lang): string {
  return TEXTS.estado[lang][estado] ?? estado;
}

/** The reply to /tareas: newest first, one line per task with its code, state and title. */
export function taskListText(tasks: ReadonlyArray<Pick<TaskSnapshot, "codigo" | "estado" | "titulo">>, lang: Lang): string {
  if (tasks.length === 0) return TEXTS.taskListEmpty[lang];
  const lines = tasks.map((t) => `[${t.codigo}] ${estadoLabel(t.estado, lang)} — ${titleFromText(t.titulo, LIST_TITLE_MAX)}`);
  return [TEXTS.taskListHeader[lang], ...lines].join("\n");
}

export type UndoDecision =
  | { outcome: "undo:cancelled"; cancel: true; text: string }
  | { outcome: "undo:refused" | "undo:nothing" | "undo:not_a_task"; cancel: false; text: string };

/** Undo `task` (null: none found; `via` says how it was looked for): only a queued task is cancelled. */
export function decideUndo(task: Pick<TaskSnapshot, "codigo" | "estado"> | null, via: "reply" | "last", lang: Lang): UndoDecision {
  if (!task) {
    return via === "reply"
      ? { outcome: "undo:not_a_task", cancel: false, text: TEXTS.undoNotATask[lang] }
      : { outcome: "undo:nothing", cancel: false, text: TEXTS.undoNothing[lang] };
  }
  if (task.estado === "queued") return { outcome: "undo:cancelled", cancel: true, text: TEXTS.undone[lang](task.codigo) };
  return { outcome: "undo:refused", cancel: false, text: TEXTS.undoTooLate[lang](task.codigo, estadoLabel(task.estado, lang)) };
}

export type EditDecision =
  | { outcome: "edit:no_task" | "edit:unchanged" | "edit:not_editable" }
  /** The task takes the new text; the earlier one goes to `versiones`. */
  | { outcome: "edit:applied"; titulo: string; metadatos_extra: Record<string, unknown>; text: string }
  /** The task left `queued`: the edit is kept in `ediciones_no_aplicadas`, the task unchanged. */
  | { outcome: "edit:noted"; metadatos_extra: Record<string, unknown>; text: string };

/** Kinds of task whose text an edit can replace (a voice note's text is its transcript, not the message). */
const EDITABLE_TIPOS = new Set(["telegram"]);

export function decideEdit(task: TaskSnapshot | null, edit: Extract<ChatIntent, { kind: "edit" }>): EditDecision {
  if (!task) return { outcome: "edit:no_task" };
  if (!EDITABLE_TIPOS.has(task.tipo)) return { outcome: "edit:not_editable" };
  const meta = task.metadatos_extra;
  const current = typeof meta.texto_original === "string" ? meta.texto_original : task.titulo;
  if (edit.text === current) return { outcome: "edit:unchanged" };
  const version = { texto: edit.text, editado_en: edit.editedAt };
  if (task.estado !== "queued") {
    const noted = Array.isArray(meta.ediciones_no_aplicadas) ? meta.ediciones_no_aplicadas : [];
    return {
      outcome: "edit:noted",
      metadatos_extra: { ...meta, ediciones_no_aplicadas: [...noted, version] },
      text: TEXTS.editNoted[edit.lang](task.codigo, estadoLabel(task.estado, edit.lang)),
    };
  }
  const versiones = Array.isArray(meta.versiones) ? meta.versiones : [];
  // versiones holds the earlier texts, each with the time it was replaced.
  const earlier = { texto: current, editado_en: edit.editedAt };
  // A photo or document's caption is its text; without one, its placeholder title is back.
  const titulo = edit.text.trim() === "" ? (edit.fallbackTitle ?? task.titulo) : titleFromText(edit.text);
  return {
    outcome: "edit:applied",
    titulo,
    metadatos_extra: { ...meta, texto_original: edit.text, versiones: [...versiones, earlier], editado_en: edit.editedAt },
    text: TEXTS.editApplied[edit.lang](task.codigo),
  };
}
