/**
 * xz and .lzma decoders against the xz CLI: presets, check types, multi-stream and multi-block
 * files, stored LZMA2 chunks, edge sizes; truncation at many offsets and seeded corruption, run
 * in a worker under a watchdog (a decoder that loops must fail the test, not hang it); and the
 * xz and lzma payloads rpmbuild writes, read through packageFiles.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { PhotonError } from '../util/errors.ts';
import { run } from '../util/run.ts';
import { decompressXz } from './xz.ts';
import { decompressLzmaAlone } from './lzma.ts';
import { prng } from '../../test/kit/random.ts';

type Format = 'xz' | 'lzma';

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

const decode = (format: Format, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Buffer> =>
  collect(format === 'xz' ? decompressXz(chunks) : decompressLzmaAlone(chunks));

/** Text-like data with repeats at many distances. */
function sample(size: number, seed = 7): Buffer {
  const words = ['<package>', 'name', 'x86_64', 'glibc', 'évolution', '\0', 'libfoo.so.1()(64bit)', '\n', '</rpm:entry>'];
  const r = prng(seed);
  const parts: string[] = [];
  let n = 0;
  while (n < size) {
    const w = words[Math.floor(r() * words.length)]! + Math.floor(r() * 1000);
    parts.push(w);
    n += w.length;
  }
  return Buffer.from(parts.join(' ')).subarray(0, size);
}

function chunked(bytes: Uint8Array, seed: number): Uint8Array[] {
  const r = prng(seed);
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; ) {
    const n = 1 + Math.floor(r() * (r() < 0.3 ? 16 : 40000));
    out.push(bytes.subarray(i, i + n));
    i += n;
  }
  return out;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const xz = async (args: string[], input: Uint8Array): Promise<Buffer> => (await run('xz', ['-c', '-T1', ...args], { input })).stdout;

const isDecompressError = (format: string, what?: RegExp) => (e: unknown): boolean =>
  e instanceof PhotonError && e.code === 'E_DECOMPRESS' && e.message.includes(format) && (!what || what.test(e.message));

// ---------------------------------------------------------------------------------------------
// The worker side: truncation and corruption cases, reported back to the main thread.

interface FuzzJob {
  format: Format;
  packed: Uint8Array;
  expect: string;
  seed: number;
  corruptions: number;
  truncations: number;
}
interface FuzzResult {
  unexpected: string[];
  rejected: number;
  decoded: number;
}

async function fuzz(job: FuzzJob): Promise<FuzzResult> {
  const r = prng(job.seed);
  const res: FuzzResult = { unexpected: [], rejected: 0, decoded: 0 };
  const packed = job.packed;
  for (let k = 0; k < job.truncations; k++) {
    const cut = k < 16 ? k : Math.floor(r() * packed.length);
    try {
      await decode(job.format, [packed.subarray(0, cut)]);
      res.unexpected.push(`truncated at ${cut}: decoded`);
    } catch (e) {
      if (isDecompressError(job.format, /truncated/)(e)) res.rejected++;
      else res.unexpected.push(`truncated at ${cut}: ${String(e)}`);
    }
  }
  for (let k = 0; k < job.corruptions; k++) {
    const bad = Uint8Array.from(packed);
    const flips = 1 + Math.floor(r() * 4);
    const where: number[] = [];
    for (let f = 0; f < flips; f++) {
      const at = Math.floor(r() * bad.length);
      bad[at]! ^= 1 + Math.floor(r() * 255);
      where.push(at);
    }
    try {
      const out = await decode(job.format, chunked(bad, k));
      // .lzma has no check: a flip may decode to other bytes; xz must notice every change.
      if (job.format === 'xz' && sha(out) !== job.expect) res.unexpected.push(`corrupt at ${where.join(',')}: wrong output accepted`);
      res.decoded++;
    } catch (e) {
      if (e instanceof PhotonError && e.code === 'E_DECOMPRESS' && e.message.includes(job.format)) res.rejected++;
      else res.unexpected.push(`corrupt at ${where.join(',')}: ${String(e)}`);
    }
  }
  return res;
}

if (!isMainThread && (workerData as { fuzz?: FuzzJob } | undefined)?.fuzz) {
  parentPort!.postMessage(await fuzz((workerData as { fuzz: FuzzJob }).fuzz));
}

/** Runs `job` in a worker; a job that outlives `ms` is terminated and fails the test. */
function fuzzInWorker(job: FuzzJob, ms: number): Promise<FuzzResult> {
  return new Promise((resolve, reject) => {
    // The worker loads this TypeScript file again: register tsx's loader in it first (loader
    // hooks are per thread, and --import in a worker's execArgv does not load them).
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
    const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); })`;
    const w = new Worker(boot, { eval: true, workerData: { fuzz: job } });
    const timer = setTimeout(() => {
      void w.terminate();
      reject(new Error(`watchdog: ${job.format} fuzz (seed ${job.seed}) did not finish in ${ms} ms`));
    }, ms);
    w.once('message', (m: FuzzResult) => {
      clearTimeout(timer);
      void w.terminate();
      resolve(m);
    });
    w.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

// ---------------------------------------------------------------------------------------------

if (isMainThread) {
  const data = sample(400_000);

  test('xz: presets -0 … -9 and -9e round-trip, fed in odd chunks', async () => {
    for (const preset of ['-0', '-1', '-2', '-3', '-4', '-5', '-6', '-7', '-8', '-9', '-9e']) {
      const packed = await xz([preset], data);
      assert.equal(sha(await decode('xz', chunked(packed, preset.length))), sha(data), preset);
    }
  });

  test('xz: every check type is verified; a flipped check byte is caught', async () => {
    for (const [check, name] of [['none', ''], ['crc32', 'CRC32'], ['crc64', 'CRC64'], ['sha256', 'SHA-256']] as const) {
      const packed = await xz([`--check=${check}`], data);
      assert.equal(sha(await decode('xz', [packed])), sha(data), check);
      if (!name) continue;
      const bad = Buffer.from(packed);
      const index = bad.length - 12 - (bad.readUInt32LE(bad.length - 8) + 1) * 4;
      bad[index - 1]! ^= 0x80;
      await assert.rejects(decode('xz', [bad]), isDecompressError('xz', new RegExp(`${name} mismatch`)), check);
    }
  });

  test('xz: concatenated streams, stream padding, multi-block files', async () => {
    const a = sample(3000, 1);
    const b = sample(200_000, 2);
    const pa = await xz(['--check=crc32'], a);
    const pb = await xz(['--check=sha256', '--block-size=7000'], b);
    const pe = await xz([], new Uint8Array(0));
    const joined = Buffer.concat([pa, new Uint8Array(8), pb, pe, new Uint8Array(4), pa]);
    assert.equal(sha(await decode('xz', chunked(joined, 3))), sha(Buffer.concat([a, b, a])));
    // Padding must come in fours.
    await assert.rejects(decode('xz', [Buffer.concat([pa, new Uint8Array(3)])]), isDecompressError('xz', /padding/));
    await assert.rejects(decode('xz', [Buffer.concat([pa, Buffer.from('junk after the stream')])]), isDecompressError('xz', /magic/));
    // xz -T2 writes blocks with both sizes in their headers.
    const mt = (await run('xz', ['-c', '-T2', '--block-size=50000'], { input: b })).stdout;
    assert.equal(sha(await decode('xz', [mt])), sha(b));
  });

  test('xz: empty, one byte, incompressible data (stored LZMA2 chunks)', async () => {
    assert.equal((await decode('xz', [await xz([], new Uint8Array(0))])).length, 0);
    assert.deepEqual([...(await decode('xz', [await xz([], Uint8Array.of(42))]))], [42]);
    const random = Buffer.alloc(300_000);
    const r = prng(5);
    for (let i = 0; i < random.length; i++) random[i] = Math.floor(r() * 256);
    const mixed = Buffer.concat([random, data.subarray(0, 100_000), random.subarray(0, 70_000)]);
    for (const args of [[], ['-0'], ['--block-size=65536']]) {
      assert.equal(sha(await decode('xz', chunked(await xz(args, mixed), 9))), sha(mixed), args.join(' '));
    }
    await assert.rejects(decode('xz', []), isDecompressError('xz', /truncated/));
  });

  test('xz: a small dictionary wraps around (dict=4KiB) and lc/lp/pb variants decode', async () => {
    for (const f of ['preset=6,dict=4KiB', 'preset=6,lc=0,lp=4,pb=0', 'preset=6,lc=4,lp=0,pb=4', 'preset=1,dict=64KiB,mf=hc4']) {
      assert.equal(sha(await decode('xz', chunked(await xz([`--lzma2=${f}`], data), 4))), sha(data), f);
    }
  });

  test('xz: filters other than LZMA2 are refused by name', async () => {
    for (const args of [['--x86', '--lzma2'], ['--delta=dist=4', '--lzma2'], ['--arm', '--lzma2']]) {
      await assert.rejects(decode('xz', [await xz(args, data)]), isDecompressError('xz', /unsupported filter/), args.join(' '));
    }
  });

  test('lzma: presets, lc/lp/pb variants, small dictionaries, empty and one byte', async () => {
    for (const f of ['preset=0', 'preset=6', 'preset=9e', 'preset=6,dict=4KiB', 'preset=6,lc=4,lp=0,pb=4', 'preset=6,lc=0,lp=4,pb=0']) {
      const packed = await xz(['--format=lzma', `--lzma1=${f}`], data);
      assert.equal(sha(await decode('lzma', chunked(packed, 11))), sha(data), f);
    }
    assert.equal((await decode('lzma', [await xz(['--format=lzma'], new Uint8Array(0))])).length, 0);
    assert.deepEqual([...(await decode('lzma', [await xz(['--format=lzma'], Uint8Array.of(7))]))], [7]);
  });

  test('lzma: a known uncompressed size in the header (with the end marker after it) and trailing data', async () => {
    const packed = await xz(['--format=lzma'], data);
    const sized = Buffer.from(packed);
    sized.writeBigUInt64LE(BigInt(data.length), 5);
    assert.equal(sha(await decode('lzma', [sized])), sha(data));
    sized.writeBigUInt64LE(BigInt(data.length - 1), 5);
    await assert.rejects(decode('lzma', [sized]), isDecompressError('lzma', /beyond the declared/));
    sized.writeBigUInt64LE(BigInt(data.length + 1), 5);
    await assert.rejects(decode('lzma', [sized]), isDecompressError('lzma'));
    await assert.rejects(decode('lzma', [Buffer.concat([packed, Uint8Array.of(0)])]), isDecompressError('lzma', /trailing/));
  });

  test('lzma: a 1.5 GiB-plus dictionary is refused; a large declared one costs only what is used', async () => {
    const packed = Buffer.from(await xz(['--format=lzma'], data.subarray(0, 1000)));
    packed.writeUInt32LE(0xc0000000, 1);
    await assert.rejects(decode('lzma', [packed]), isDecompressError('lzma', /1\.5 GiB/));
    packed.writeUInt32LE(0x40000000, 1); // 1 GiB declared
    const before = process.memoryUsage().arrayBuffers;
    assert.equal(sha(await decode('lzma', [packed])), sha(data.subarray(0, 1000)));
    assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20);
  });

  for (const [format, args] of [['xz', ['--check=crc64']], ['xz', ['--check=sha256', '--block-size=20000']], ['lzma', ['--format=lzma']]] as const) {
    test(`${format} ${args.join(' ')}: truncated at many offsets and seeded corruption give E_DECOMPRESS, in bounded time`, async () => {
      const input = data.subarray(0, 120_000);
      const packed = new Uint8Array(await xz([...args], input));
      const res = await fuzzInWorker({ format, packed, expect: sha(input), seed: 1234 + args.length, corruptions: 300, truncations: 80 }, 120_000);
      assert.deepEqual(res.unexpected, []);
      assert.ok(res.rejected >= 80, `${res.rejected} rejected`);
    });
  }

  test('rpmbuild xz (w6.xzdio) and lzma (w6.lzdio) payloads read through packageFiles', async (t) => {
    const { buildRpm, FEATURE_SPEC } = await import('../../test/kit/rpmbuild.ts');
    const { readPackageFile, packageFiles } = await import('../rpm/package.ts');
    const dir = await mkdtemp(join(tmpdir(), 'photon-xz-'));
    try {
      for (const payload of ['w6.xzdio', 'w6.lzdio', 'w2T0.xzdio']) {
        let file: string;
        try {
          file = await buildRpm(dir, FEATURE_SPEC, { payload });
        } catch (e) {
          t.diagnostic(`rpmbuild cannot write ${payload}: ${String(e).slice(0, 200)}`);
          continue;
        }
        const { pkg, bytes } = await readPackageFile(file);
        const cpio = (await run('rpm2cpio', [file])).stdout;
        const dest = await mkdtemp(join(dir, 'x-'));
        await run('cpio', ['-idm', '--quiet', '--no-absolute-filenames'], { cwd: dest, input: cpio });
        let withData = 0;
        for await (const f of packageFiles(pkg, bytes)) {
          if (!f.data) continue;
          withData++;
          assert.ok(Buffer.from(f.data).equals(await readFile(join(dest, f.path))), `${payload} ${f.path}`);
        }
        assert.ok(withData >= 5, `${payload}: ${withData} files with data`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
