import { invalidArgument } from '../core/errors.js';

/**
 * A glob as a RegExp over `/`-separated paths: `*` matches within one path segment, `**` any number
 * of whole segments (`a/**\/b` matches `a/b` and `a/x/y/b`; a trailing `**` matches everything below),
 * `?` one character other than `/`, `{a,b}` either alternative (nesting allowed). Every other
 * character matches itself; `\` escapes the next character.
 */
export function globToRegExp(pattern: string, stage: string, parameter = 'pattern'): RegExp {
  if (typeof pattern !== 'string' || pattern.length === 0) {
    throw invalidArgument(parameter, 'a non-empty glob string', pattern, stage);
  }
  let out = '';
  let depth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      if (i + 1 >= pattern.length)
        throw invalidArgument(parameter, 'a glob not ending in a lone \\', pattern, stage);
      out += escapeChar(pattern[++i]);
    } else if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        const atStart = i === 1 || pattern[i - 2] === '/';
        if (atStart && pattern[i + 1] === '/') {
          i++;
          out += '(?:[^/]*/)*'; // `**/`: zero or more whole segments
        } else out += '.*';
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '{') {
      depth++;
      out += '(?:';
    } else if (c === '}' && depth > 0) {
      depth--;
      out += ')';
    } else if (c === ',' && depth > 0) out += '|';
    else out += escapeChar(c);
  }
  if (depth > 0) throw invalidArgument(parameter, 'a glob with balanced { and }', pattern, stage);
  return new RegExp(`^${out}$`);
}

/** A matcher for one glob or any of several (unset: everything). */
export function globMatcher(
  pattern: string | readonly string[] | undefined,
  stage: string,
): (name: string) => boolean {
  if (pattern === undefined) return () => true;
  const list = typeof pattern === 'string' ? [pattern] : pattern;
  if (!Array.isArray(list) || list.length === 0) {
    throw invalidArgument('pattern', 'a glob or a non-empty array of globs', pattern, stage);
  }
  const res = list.map((p, i) => globToRegExp(p, stage, list === pattern ? `pattern[${i}]` : 'pattern'));
  return (name) => res.some((re) => re.test(name));
}

function escapeChar(c: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(c) ? `\\${c}` : c;
}
