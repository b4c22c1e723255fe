// Just enough of source maps to turn a stack frame of a served module into its source line: the
// inline map Vite's dev server appends to every module it transforms, and its VLQ `mappings`.
// (A library would be a dependency of the page; this is all the page needs of one.)

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const DIGITS = new Map([...BASE64].map((char, value) => [char, value]));

/** The values of one segment (`AAAA,`-style): generated column, then source index, source line,
 * source column and name index, each relative to the previous segment's (see the spec). */
function decodeSegment(segment: string): number[] {
  const values: number[] = [];
  let value = 0;
  let scale = 1;
  for (const char of segment) {
    const digit = DIGITS.get(char);
    if (digit === undefined) throw new Error(`not a base64 VLQ digit: ${char}`);
    value += (digit & 31) * scale;
    if (digit & 32) {
      scale *= 32; // a continuation digit: five more bits follow
      continue;
    }
    // The lowest bit of a value is its sign.
    values.push(value % 2 === 1 ? -(value - 1) / 2 : value / 2);
    value = 0;
    scale = 1;
  }
  return values;
}

/** The 1-based source line that the 1-based generated `line` and `column` come from, or null when
 * that line maps to no source. A column before the line's first mapping takes the first one. */
export function originalLine(mappings: string, line: number, column: number): number | null {
  const lines = mappings.split(";");
  if (line < 1 || line > lines.length) return null;
  // Source index, line and column accumulate over the whole map, so every earlier line counts.
  let sourceLine = 0;
  for (let index = 0; index < line; index++) {
    let generatedColumn = 0;
    let found: number | null = null;
    for (const segment of lines[index].split(",")) {
      if (!segment) continue;
      const [columnDelta, , lineDelta] = decodeSegment(segment);
      generatedColumn += columnDelta;
      if (lineDelta === undefined) continue; // a segment without a source
      sourceLine += lineDelta;
      if (index === line - 1 && (found === null || generatedColumn <= column - 1)) found = sourceLine + 1;
    }
    if (index === line - 1) return found;
  }
  return null;
}

const INLINE_MAP = /\/\/[#@] sourceMappingURL=data:application\/json;(?:charset=[\w-]+;)?base64,([A-Za-z0-9+/=]+)\s*$/;

/** The `mappings` of the inline source map at the end of a served module, if it has one. */
export function inlineMappings(code: string): string | null {
  const encoded = INLINE_MAP.exec(code)?.[1];
  if (!encoded) return null;
  const bytes = Uint8Array.from(atob(encoded), (char) => char.charCodeAt(0));
  const map = JSON.parse(new TextDecoder().decode(bytes)) as { mappings?: unknown };
  return typeof map.mappings === "string" ? map.mappings : null;
}
