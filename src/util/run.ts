import { PhotonError } from './errors.ts';

/** Debian packages that provide the host tools we call, for the hint when one is missing. */
const PACKAGE_OF: Record<string, string> = {
  rpm: 'rpm', rpmbuild: 'rpm', rpmkeys: 'rpm', createrepo_c: 'createrepo-c', dnf: 'dnf',
  rpmmd2solv: 'libsolv-tools', installcheck: 'libsolv-tools', gpg: 'gnupg', xz: 'xz-utils',
  zstd: 'zstd', cpio: 'cpio', 'qemu-img': 'qemu-utils', 'mkfs.ext4': 'e2fsprogs',
};

export interface RunResult {
  status: number;
  stdout: Buffer;
  stderr: Buffer;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: Uint8Array | string;
  /** Resolve with the result instead of throwing when the command exits non-zero. */
  allowFailure?: boolean;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * The one way we start subprocesses: a missing tool names its Debian package, and a failure
 * prints a command line the user can paste to reproduce it.
 */
export async function run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  // Loaded on first use: most tdnf runs start no process.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: 'pipe' });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        const pkg = PACKAGE_OF[cmd];
        reject(new PhotonError('E_TOOL_MISSING', `${cmd} not found${pkg ? ` (apt-get install ${pkg})` : ''}`));
      } else reject(e);
    });
    child.on('close', (code, signal) => {
      const result = { status: code ?? 128, stdout: Buffer.concat(out), stderr: Buffer.concat(err) };
      if (result.status !== 0 && !options.allowFailure) {
        const line = [cmd, ...args].map(quote).join(' ');
        const why = signal ? `killed by ${signal}` : `exit ${result.status}`;
        reject(new PhotonError('E_TOOL_FAILED', `${line}: ${why}: ${result.stderr.toString().trim().slice(-2000)}`));
      } else resolve(result);
    });
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}
