/** Shell-style name patterns as tdnf (fnmatch(3) without flags) and rpm use them. */

const GLOB_CHARS = /[*?[]/;

export function isGlob(s: string): boolean {
  return GLOB_CHARS.test(s);
}

/** `*`, `?` and `[...]` (with `!`/`^` negation); a `[` without its `]` is literal. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      // A `]` right after `[` (or `[!`) belongs to the set, as in fnmatch.
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      if (body[0] === '!' || body[0] === '^') body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
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
