/**
 * A built-in 5x7 bitmap font (digits, A-Z, a few symbols) drawn straight into an RGBA buffer, so
 * captions need no system fonts. Lowercase letters draw as uppercase; any other character as '?'.
 * Each glyph is 7 rows of 5 bits, most significant bit leftmost; glyphs advance 6 dots (1 dot gap).
 */

export const GLYPH_WIDTH = 5;
export const GLYPH_HEIGHT = 7;
export const GLYPH_ADVANCE = GLYPH_WIDTH + 1;

const ROWS: Record<string, string> = {
  '0': '01110 10001 10011 10101 11001 10001 01110',
  '1': '00100 01100 00100 00100 00100 00100 01110',
  '2': '01110 10001 00001 00010 00100 01000 11111',
  '3': '11111 00010 00100 00010 00001 10001 01110',
  '4': '00010 00110 01010 10010 11111 00010 00010',
  '5': '11111 10000 11110 00001 00001 10001 01110',
  '6': '00110 01000 10000 11110 10001 10001 01110',
  '7': '11111 00001 00010 00100 01000 01000 01000',
  '8': '01110 10001 10001 01110 10001 10001 01110',
  '9': '01110 10001 10001 01111 00001 00010 01100',
  A: '01110 10001 10001 11111 10001 10001 10001',
  B: '11110 10001 10001 11110 10001 10001 11110',
  C: '01110 10001 10000 10000 10000 10001 01110',
  D: '11100 10010 10001 10001 10001 10010 11100',
  E: '11111 10000 10000 11110 10000 10000 11111',
  F: '11111 10000 10000 11110 10000 10000 10000',
  G: '01110 10001 10000 10111 10001 10001 01111',
  H: '10001 10001 10001 11111 10001 10001 10001',
  I: '01110 00100 00100 00100 00100 00100 01110',
  J: '00111 00010 00010 00010 00010 10010 01100',
  K: '10001 10010 10100 11000 10100 10010 10001',
  L: '10000 10000 10000 10000 10000 10000 11111',
  M: '10001 11011 10101 10101 10001 10001 10001',
  N: '10001 10001 11001 10101 10011 10001 10001',
  O: '01110 10001 10001 10001 10001 10001 01110',
  P: '11110 10001 10001 11110 10000 10000 10000',
  Q: '01110 10001 10001 10001 10101 10010 01101',
  R: '11110 10001 10001 11110 10100 10010 10001',
  S: '01111 10000 10000 01110 00001 00001 11110',
  T: '11111 00100 00100 00100 00100 00100 00100',
  U: '10001 10001 10001 10001 10001 10001 01110',
  V: '10001 10001 10001 10001 10001 01010 00100',
  W: '10001 10001 10001 10101 10101 10101 01010',
  X: '10001 10001 01010 00100 01010 10001 10001',
  Y: '10001 10001 10001 01010 00100 00100 00100',
  Z: '11111 00001 00010 00100 01000 10000 11111',
  ' ': '00000 00000 00000 00000 00000 00000 00000',
  '.': '00000 00000 00000 00000 00000 01100 01100',
  ',': '00000 00000 00000 00000 01100 00100 01000',
  '-': '00000 00000 00000 11111 00000 00000 00000',
  _: '00000 00000 00000 00000 00000 00000 11111',
  ':': '00000 01100 01100 00000 01100 01100 00000',
  '/': '00000 00001 00010 00100 01000 10000 00000',
  '(': '00010 00100 01000 01000 01000 00100 00010',
  ')': '01000 00100 00010 00010 00010 00100 01000',
  '#': '01010 01010 11111 01010 11111 01010 01010',
  '+': '00000 00100 00100 11111 00100 00100 00000',
  '=': '00000 00000 11111 00000 11111 00000 00000',
  '?': '01110 10001 00001 00010 00100 00000 00100',
  '!': '00100 00100 00100 00100 00100 00000 00100',
  "'": '01100 00100 01000 00000 00000 00000 00000',
  '<': '00010 00100 01000 10000 01000 00100 00010',
  '>': '01000 00100 00010 00001 00010 00100 01000',
};

const GLYPHS = new Map<string, readonly number[]>(
  Object.entries(ROWS).map(([ch, rows]) => [ch, rows.split(' ').map((r) => Number.parseInt(r, 2))]),
);

/** The 7 row bitmasks of a character's glyph ('?' for characters the font lacks). */
export function glyph(ch: string): readonly number[] {
  return GLYPHS.get(ch.toUpperCase()) ?? GLYPHS.get('?')!;
}

/** Width in pixels of `text` at `dot` pixels per font dot (no trailing gap). */
export function textWidth(text: string, dot: number): number {
  const n = [...text].length;
  return n === 0 ? 0 : (n * GLYPH_ADVANCE - 1) * dot;
}

/** The longest prefix of `text` that fits in `maxWidth` pixels. */
export function fitText(text: string, dot: number, maxWidth: number): string {
  const chars = [...text];
  const fits = Math.max(0, Math.floor((maxWidth / dot + 1) / GLYPH_ADVANCE));
  return chars.slice(0, fits).join('');
}

/**
 * Draws `text` into an RGBA buffer `width` pixels wide with its top-left corner at (x, y), each font
 * dot a `dot` x `dot` square of `color`; pixels outside the buffer are skipped.
 */
export function drawText(
  rgba: Uint8Array,
  width: number,
  x: number,
  y: number,
  text: string,
  color: readonly [number, number, number, number],
  dot: number,
): void {
  const height = rgba.length / (4 * width);
  let gx = x;
  for (const ch of text) {
    const rows = glyph(ch);
    for (let r = 0; r < GLYPH_HEIGHT; r++) {
      for (let c = 0; c < GLYPH_WIDTH; c++) {
        if (!(rows[r] & (1 << (GLYPH_WIDTH - 1 - c)))) continue;
        for (let dy = 0; dy < dot; dy++) {
          const py = y + r * dot + dy;
          if (py < 0 || py >= height) continue;
          for (let dx = 0; dx < dot; dx++) {
            const px = gx + c * dot + dx;
            if (px < 0 || px >= width) continue;
            rgba.set(color, (py * width + px) * 4);
          }
        }
      }
    }
    gx += GLYPH_ADVANCE * dot;
  }
}
