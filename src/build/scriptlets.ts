/**
 * Scriptlets made from a recipe's declarative keys, in place of Debian's maintainer scripts:
 * what Photon's spec files get from %systemd_post, %sysusers_create_compat, %tmpfiles_create
 * and `-p /sbin/ldconfig`. Every generated command tolerates a root where the tool is not yet
 * installed (an image's first transaction): systemd applies sysusers.d, tmpfiles.d and presets
 * on first boot anyway, so nothing is lost, only done later.
 */
import type { ScriptName, ScriptSpec } from '../rpm/pack.ts';
import { PhotonError } from '../util/errors.ts';
import type { ScriptValue } from './recipe.ts';

export interface DeclaredEffects {
  pkg: string;
  sysusers?: string | undefined;
  tmpfiles?: string | undefined;
  systemd?: { enable: string[]; disable: string[] } | undefined;
  ldconfig: boolean;
  scripts: { [K in ScriptName]?: ScriptValue | undefined };
}

export interface GeneratedFiles {
  path: string;
  text: string;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** useradd/groupadd lines for a sysusers.d text: the fallback where systemd-sysusers is absent. */
function shadowFallback(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const f = line.match(/"[^"]*"|\S+/g)?.map((x) => x.replace(/^"|"$/g, '')) ?? [];
    const [type, name, id, gecos, home, shell] = f;
    if (!name) continue;
    const idArg = (flag: string) => (id && /^\d+$/.test(id) ? ` ${flag} ${id}` : '');
    if (type === 'g') out.push(`getent group ${q(name)} >/dev/null || groupadd -r${idArg('-g')} ${q(name)}`);
    else if (type === 'u') {
      const [uid, gid] = (id ?? '-').split(':');
      const uidArg = uid && /^\d+$/.test(uid) ? ` -u ${uid}` : '';
      const groupArg = gid && gid !== '-' ? ` -g ${q(gid)}` : ' -U';
      out.push(
        `getent passwd ${q(name)} >/dev/null || useradd -r${uidArg}${groupArg} -d ${q(home && home !== '-' ? home : '/')} ` +
          `-s ${q(shell && shell !== '-' ? shell : '/usr/sbin/nologin')} -c ${q(gecos && gecos !== '-' ? gecos : name)} ${q(name)}`,
      );
    } else if (type === 'm' && id) out.push(`usermod -a -G ${q(id)} ${q(name)} 2>/dev/null || :`);
  }
  return out;
}

function body(v: ScriptValue | undefined): ScriptSpec | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? { body: v } : { body: v.body, interpreter: v.interpreter };
}

/** The files the keys ship and the scriptlets that apply them, recipe scripts appended last. */
export function declaredEffects(e: DeclaredEffects): { files: GeneratedFiles[]; scripts: Partial<Record<ScriptName, ScriptSpec>> } {
  const files: GeneratedFiles[] = [];
  const parts: Record<ScriptName, string[]> = { pre: [], post: [], preun: [], postun: [], pretrans: [], posttrans: [] };

  if (e.sysusers) {
    const path = `/usr/lib/sysusers.d/${e.pkg}.conf`;
    files.push({ path, text: e.sysusers.endsWith('\n') ? e.sysusers : `${e.sysusers}\n` });
    // %pre: the package's files may be owned by these users, and rpm resolves owners at unpack.
    parts.pre.push(
      [
        'if [ -x /usr/bin/systemd-sysusers ]; then',
        `  /usr/bin/systemd-sysusers - <<'SYSUSERS' || :`,
        e.sysusers.trimEnd(),
        'SYSUSERS',
        'elif command -v useradd >/dev/null 2>&1; then',
        ...shadowFallback(e.sysusers).map((l) => `  ${l}`),
        '  :',
        'fi',
      ].join('\n'),
    );
  }
  if (e.tmpfiles) {
    const path = `/usr/lib/tmpfiles.d/${e.pkg}.conf`;
    files.push({ path, text: e.tmpfiles.endsWith('\n') ? e.tmpfiles : `${e.tmpfiles}\n` });
    parts.post.push(`[ -x /usr/bin/systemd-tmpfiles ] && /usr/bin/systemd-tmpfiles --create ${path} >/dev/null 2>&1 || :`);
  }
  if (e.systemd && (e.systemd.enable.length || e.systemd.disable.length)) {
    const lines = [...e.systemd.enable.map((u) => `enable ${u}`), ...e.systemd.disable.map((u) => `disable ${u}`)];
    files.push({ path: `/usr/lib/systemd/system-preset/50-${e.pkg}.preset`, text: `${lines.join('\n')}\n` });
    const units = [...e.systemd.enable, ...e.systemd.disable].join(' ');
    // As %systemd_post: presets on first install only, so an admin's later choice survives updates.
    parts.post.push(`if [ $1 -eq 1 ] && [ -x /usr/bin/systemctl ]; then /usr/bin/systemctl --no-reload preset ${units} >/dev/null 2>&1 || :; fi`);
    parts.preun.push(`if [ $1 -eq 0 ] && [ -x /usr/bin/systemctl ]; then /usr/bin/systemctl --no-reload disable --now ${e.systemd.enable.join(' ') || units} >/dev/null 2>&1 || :; fi`);
  }
  if (e.ldconfig) {
    parts.post.push('[ -x /usr/sbin/ldconfig ] && /usr/sbin/ldconfig || :');
    parts.postun.push('[ -x /usr/sbin/ldconfig ] && /usr/sbin/ldconfig || :');
  }

  const scripts: Partial<Record<ScriptName, ScriptSpec>> = {};
  // `%post -p /usr/sbin/ldconfig` when ldconfig is all there is to do: no shell needed, so a
  // library installed before bash's own libraries (glibc, ncurses) runs its scriptlet fine.
  for (const name of ['post', 'postun'] as const) {
    if (e.ldconfig && parts[name].length === 1 && e.scripts[name] === undefined) {
      parts[name] = [];
      scripts[name] = { body: '', interpreter: '/usr/sbin/ldconfig' };
    }
  }
  for (const name of Object.keys(parts) as ScriptName[]) {
    const own = body(e.scripts[name]);
    if (own?.interpreter && own.interpreter !== '/bin/sh') {
      // A scriptlet in another language cannot be joined with the generated shell steps.
      if (parts[name].length) {
        throw new PhotonError('E_RECIPE', `scripts.${name}: uses ${own.interpreter}, but the recipe's keys also generate %${name} steps; write it for /bin/sh`);
      }
      scripts[name] = own;
      continue;
    }
    const all = [...parts[name], ...(own ? [own.body.trimEnd()] : [])].filter(Boolean);
    if (all.length) scripts[name] = { body: `${all.join('\n')}\n` };
  }
  return { files, scripts };
}
