// Task titles: the text itself, cut for long texts (the full text stays in texto_original).
export const TITLE_MAX = 200;

// What a person sees as one character (a flag, a family emoji) can be several code points.
const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** Whitespace folded to single spaces; over TITLE_MAX characters, cut at a word boundary with "…". */
export function titleFromText(text: string, max = TITLE_MAX): string {
  // A long text (up to 256 KB) needs only its beginning for the title: fold a generous prefix,
  // and the whole text only when whitespace runs shrank that prefix below the title's length.
  if (text.length > max * 16) {
    const head = text
      .trimStart()
      .slice(0, max * 16)
      .replace(/\s+/g, " ");
    if (Array.from(head).length > max) return titleFromText(head, max);
  }
  // Most texts have nothing to fold (single spaces only): testing is much cheaper than replacing.
  const folded = (NEEDS_FOLDING.test(text) ? text.replace(/\s+/g, " ") : text).trim();
  if (folded.length <= max) return folded; // UTF-16 length ≥ code points
  // The common case: the first max+1 UTF-16 units are all below U+0300 (Latin, accents
  // included), so each is one code point and one grapheme: cut by index, no arrays of characters.
  if (!BEYOND_LATIN.test(folded.slice(0, max + 1))) return cutAtSpace(folded.slice(0, max - 1));
  // Code points of a prefix long enough to hold max+1 of them (at most 2 UTF-16 units each).
  const chars = Array.from(folded.length > 2 * max + 2 ? folded.slice(0, 2 * max + 2) : folded);
  if (chars.length <= max) return folded;
  // Cut at max-1 code points, moved back to a grapheme boundary so no emoji is cut in half.
  // Only the code points around the cut are segmented (Intl.Segmenter is slow on long text).
  const cutAt = max - 1;
  // Start segmenting at a plain ASCII character (surely a grapheme boundary), or at the start.
  let from = Math.max(0, cutAt - 16);
  while (from > 0 && chars[from]!.charCodeAt(0) >= 0x80) from--;
  let keep = from;
  // Below U+0300 (Latin, accented letters included) every code point is a grapheme of its own:
  // no segmenting needed, which is the common case.
  const simple = chars.slice(from, cutAt + 1).every((c) => c.charCodeAt(0) < 0x300);
  if (simple) keep = cutAt;
  else
    for (const { segment } of GRAPHEMES.segment(chars.slice(from, cutAt + 16).join(""))) {
      const n = Array.from(segment).length;
      if (keep + n > cutAt) break;
      keep += n;
    }
  return cutAtSpace(chars.slice(0, keep > from ? keep : cutAt).join(""));
}

const BEYOND_LATIN = /[\u0300-\uffff]/;
/** Whitespace that folding would change: a run of two, or anything but a plain space. */
const NEEDS_FOLDING = /\s\s|[^\S ]/;

/** `room` (the longest title that fits) cut back to its last space, and the ellipsis. */
function cutAtSpace(room: string): string {
  const lastSpace = room.lastIndexOf(" ");
  // Cut at the last space unless that would throw away most of the title (one huge word).
  const cut = lastSpace >= room.length * 0.6 ? room.slice(0, lastSpace) : room;
  return cut.trimEnd() + "…";
}

/** 12 → "0:12", 75 → "1:15", 3725 → "1:02:05". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}
