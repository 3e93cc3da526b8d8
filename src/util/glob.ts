/** Shell-style name patterns as tdnf (fnmatch(3) without flags) and rpm use them. */

const GLOB_CHARS = /[*?[]/;

export function isGlob(s: string): boolean {
  return GLOB_CHARS.test(s);
}

/**
 * The `[...]` set starting at `glob[i]` as a regular expression (with `!`/`^` negation), and
 * the index of its `]`; a `[` without its `]` is literal. A `]` right after `[` (or `[!`)
 * belongs to the set, as in fnmatch.
 */
function charClass(glob: string, i: number): { re: string; end: number } {
  const end = glob.indexOf(']', i + 2);
  if (end < 0) return { re: '\\[', end: i };
  let body = glob.slice(i + 1, end);
  if (body[0] === '!' || body[0] === '^') body = `^${body.slice(1)}`;
  return { re: `[${body.replace(/\\/g, '\\\\')}]`, end };
}

/** `*`, `?` and `[...]` (with `!`/`^` negation); a `[` without its `]` is literal. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const set = charClass(glob, i);
      re += set.re;
      i = set.end;
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** A test for `pattern`: plain equality unless it is a glob. */
export function nameMatcher(pattern: string): (s: string) => boolean {
  if (!isGlob(pattern)) return (s) => s === pattern;
  const re = globToRegExp(pattern);
  return (s) => re.test(s);
}

/**
 * A test for an absolute-path pattern as recipes write them: `*` and `?` stay within one path
 * component, `**` crosses components; with `descendants`, a pattern naming a directory also
 * takes everything beneath it, as a directory in an rpm %files list does.
 */
export function pathMatcher(pattern: string, descendants: boolean): (path: string) => boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const set = charClass(pattern, i);
      re += set.re;
      i = set.end;
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  const trimmed = re.endsWith('/') ? re.slice(0, -1) : re;
  const compiled = new RegExp(`^${trimmed}${descendants ? '(/.*)?' : ''}$`, 's');
  return (path) => compiled.test(path);
}

/** True when any of `patterns` matches (see pathMatcher). */
export function anyPathMatcher(patterns: readonly string[], descendants: boolean): (path: string) => boolean {
  const tests = patterns.map((p) => pathMatcher(p, descendants));
  return (path) => tests.some((t) => t(path));
}
