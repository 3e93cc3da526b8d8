import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TdnfError } from './errors.ts';
import { TdnfUsageError, flag, parseTdnfArgs, values } from './options.ts';

function fails(argv: string[], code: number, detail?: string): void {
  assert.throws(() => parseTdnfArgs(argv), (e: unknown) => {
    assert.ok(e instanceof TdnfError);
    assert.equal(e.code, code);
    if (detail !== undefined) assert.equal((e as TdnfUsageError).detail, detail);
    return true;
  });
}

describe('parseTdnfArgs', () => {
  it('reads commands, aliases and words after options in any order (getopt permutes)', () => {
    const a = parseTdnfArgs(['list', '--installed', 'foo*', '-y']);
    assert.equal(a.command, 'list');
    assert.deepEqual(a.args, ['foo*']);
    assert.ok(flag(a, 'installed'));
    assert.ok(a.assumeYes);
    assert.equal(parseTdnfArgs(['remove', 'x']).command, 'erase');
    assert.equal(parseTdnfArgs(['whatprovides', 'x']).command, 'provides');
    assert.equal(parseTdnfArgs(['update-to', 'x']).command, 'upgrade-to');
    assert.equal(parseTdnfArgs(['autoerase']).command, 'autoremove');
    assert.equal(parseTdnfArgs(['frob']).command, undefined);
    assert.equal(parseTdnfArgs(['frob']).commandName, 'frob');
    assert.deepEqual(parseTdnfArgs(['--', 'list', '-x']).args, ['-x']);
  });

  it('accepts unique prefixes and single-dash long options as getopt_long_only does', () => {
    assert.equal(parseTdnfArgs(['--installr', '/r', 'list']).installRoot, '/r');
    // --inst prefixes installroot and installed: ambiguous.
    fails(['--inst', '/r'], 908);
    assert.equal(parseTdnfArgs(['-installroot=/r']).installRoot, '/r');
    assert.ok(parseTdnfArgs(['-j', 'list']).json);
    assert.ok(parseTdnfArgs(['--js']).json);
    assert.ok(parseTdnfArgs(['-v']).verbose);
    assert.ok(parseTdnfArgs(['--ref']).refresh);
  });

  it('reads short options clustered and with attached values', () => {
    const a = parseTdnfArgs(['-yqC', '-i/root', '-c', '/etc/x.conf']);
    assert.ok(a.assumeYes && a.quiet && a.cacheOnly);
    assert.equal(a.installRoot, '/root');
    assert.equal(a.config, '/etc/x.conf');
  });

  it('collects repeatable options, setopt, excludes and repofrompath', () => {
    const a = parseTdnfArgs([
      '--enablerepo=a', '--enablerepo', 'b', '--setopt=keepcache=1', '--setopt=photon.enabled=0',
      '--exclude', 'x,y:z', '--repofrompath=loc,/srv/repo', '--whatprovides', 'p1,p2', 'repoquery',
    ]);
    assert.deepEqual(a.enableRepo, ['a', 'b']);
    assert.deepEqual(a.setopt, [{ key: 'keepcache', value: '1' }, { repo: 'photon', key: 'enabled', value: '0' }]);
    assert.deepEqual(a.exclude, ['x', 'y', 'z']);
    assert.deepEqual(a.repoFromPath, [{ id: 'loc', path: '/srv/repo' }]);
    assert.deepEqual(values(a, 'whatprovides', true), ['p1', 'p2']);
  });

  it('fails with tdnf codes and detail lines', () => {
    fails(['--foo'], 908, 'No such option: --foo. Please use /usr/bin/tdnf --help');
    fails(['-Z'], 908, 'No such option: -Z. Please use /usr/bin/tdnf --help');
    // "re" prefixes refresh, releasever, repo…: ambiguous, which tdnf reports as no such option.
    fails(['--re'], 908, 'No such option: --re. Please use /usr/bin/tdnf --help');
    fails(['--json=1'], 908);
    fails(['--installroot'], 909, 'Option --installroot requires an argument');
    fails(['--installr'], 908, 'No such option: --installr. Please use /usr/bin/tdnf --help');
    fails(['--installroot='], 909);
    fails(['--installroot', 'rel/path', 'list'], 1622, 'Install root must be an absolute path.');
    fails(['--setopt=novalue'], 911);
    fails(['--downloaddir=/x', 'install'], 913);
    fails(['--alldeps', 'install'], 915);
    fails(['list', ''], 1622, 'argument is empty string');
  });

  it('presets json and assumeyes for tdnfj', () => {
    const a = parseTdnfArgs(['list'], { json: true, assumeYes: true });
    assert.ok(a.json && a.assumeYes);
  });
});
