import { PhotonError } from '../util/errors.ts';

/** Declares one command's options: long name → whether it takes a value and may repeat. */
export interface OptionSpec {
  [long: string]: { value?: boolean; multiple?: boolean; short?: string };
}

export interface ParsedArgs {
  options: Map<string, string[]>;
  flags: Set<string>;
  positionals: string[];
}

/**
 * A small getopt: `--name value`, `--name=value`, `-x value`, clustered short flags, `--`.
 * Unique prefixes of long options are accepted, as rpm and tdnf accept them.
 */
export function parseArgs(argv: readonly string[], spec: OptionSpec): ParsedArgs {
  const options = new Map<string, string[]>();
  const flags = new Set<string>();
  const positionals: string[] = [];
  const shorts = new Map<string, string>();
  for (const [long, s] of Object.entries(spec)) if (s.short) shorts.set(s.short, long);

  const resolveLong = (name: string): string => {
    if (spec[name]) return name;
    const matches = Object.keys(spec).filter((k) => k.startsWith(name));
    if (matches.length === 1) return matches[0]!;
    throw new PhotonError('E_USAGE', matches.length ? `option --${name} is ambiguous (${matches.map((m) => `--${m}`).join(', ')})` : `unknown option --${name}`);
  };
  const take = (long: string, value: string | undefined, i: number): number => {
    const s = spec[long]!;
    if (!s.value) {
      if (value !== undefined) throw new PhotonError('E_USAGE', `option --${long} takes no value`);
      flags.add(long);
      return i;
    }
    let v = value;
    let next = i;
    if (v === undefined) {
      next = i + 1;
      v = argv[next];
      if (v === undefined) throw new PhotonError('E_USAGE', `option --${long} needs a value`);
    }
    const list = options.get(long) ?? [];
    if (!s.multiple && list.length) list.length = 0;
    list.push(v);
    options.set(long, list);
    return next;
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      i = take(resolveLong(name), eq >= 0 ? a.slice(eq + 1) : undefined, i);
    } else if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const long = shorts.get(a[j]!);
        if (!long) throw new PhotonError('E_USAGE', `unknown option -${a[j]}`);
        if (spec[long]!.value) {
          const rest = a.slice(j + 1);
          i = take(long, rest.length ? rest : undefined, i);
          break;
        }
        flags.add(long);
      }
    } else positionals.push(a);
  }
  return { options, flags, positionals };
}

export function one(args: ParsedArgs, name: string): string | undefined {
  const v = args.options.get(name);
  return v?.[v.length - 1];
}

export function all(args: ParsedArgs, name: string): string[] {
  return args.options.get(name) ?? [];
}

/**
 * `photon CMD SUB [options]` for a command with one subcommand: SUB's parsed options, or the exit
 * status once the usage is printed (asked for with -h/--help: 0; no or another subcommand: 2).
 */
export function subcommandArgs(argv: readonly string[], sub: string, spec: OptionSpec, usage: string): ParsedArgs | number {
  const [first, ...rest] = argv;
  const args = first === sub ? parseArgs(rest, spec) : undefined;
  if (args && !args.flags.has('help')) return args;
  process.stdout.write(usage);
  return args || first === '--help' || first === '-h' ? 0 : 2;
}
