/**
 * Where a file holds data: lseek(2)'s SEEK_DATA and SEEK_HOLE, which qemu-img and `cp --sparse`
 * use to skip a disk image's holes. Node's fs has no lseek, so python3 (a build-host tool, see
 * scripts/setup.sh) asks the kernel. A hole reads as zeros either way: knowing where they are
 * only saves reading them, about a second per GiB of holes on the machines measured here (the
 * kernel still fills the buffer).
 */
import { run } from './run.ts';

const SEEK_DATA_PY = `
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
end = os.fstat(fd).st_size
pos = 0
while pos < end:
    try:
        data = os.lseek(fd, pos, os.SEEK_DATA)
    except OSError as e:
        if e.errno == errno.ENXIO:
            break
        raise
    pos = os.lseek(fd, data, os.SEEK_HOLE)
    print(data, pos)
`;

/**
 * The [start, end) byte ranges of `path` that hold data, in order; undefined when they cannot be
 * told (no python3), so that the caller reads the whole file. A filesystem without holes reports
 * the whole file as one range.
 */
export async function dataRanges(path: string): Promise<Array<[number, number]> | undefined> {
  const r = await run('python3', ['-c', SEEK_DATA_PY, path], { allowFailure: true }).catch(() => undefined);
  if (!r || r.status !== 0) return undefined;
  const ranges: Array<[number, number]> = [];
  for (const line of r.stdout.toString().split('\n')) {
    if (!line) continue;
    const m = /^(\d+) (\d+)$/.exec(line);
    if (!m) return undefined;
    ranges.push([Number(m[1]), Number(m[2])]);
  }
  return ranges;
}
