/**
 * ELF files, read as far as package dependencies need: what a binary is (class, byte order,
 * machine, type), its program interpreter, and its dynamic section: DT_NEEDED, DT_SONAME,
 * rpaths, and GNU symbol versions (.gnu.version_d: the versions a library defines, such as
 * GLIBC_2.2.5; .gnu.version_r: per needed library, the versions required of it).
 *
 * Like rpm's elfdeps (through libelf) we find these through the section headers: SHT_DYNAMIC,
 * SHT_GNU_verdef and SHT_GNU_verneed, each with sh_link naming its string table. A file whose
 * section headers are gone (sstrip) is read through PT_DYNAMIC instead, mapping the dynamic
 * entries' addresses to file offsets through the PT_LOAD segments; `dynamicFrom` says which.
 *
 * Layouts (32-bit / 64-bit, in the file's byte order):
 *   ELF header: e_type @16, e_machine @18, e_phoff @28/32, e_shoff @32/40,
 *     e_phentsize @42/54, e_phnum @44/56, e_shentsize @46/58, e_shnum @48/60
 *   section header (40/64 bytes): type @4, offset @16/24, size @20/32, link @24/40, info @28/44, entsize @36/56
 *   program header (32/56 bytes): type @0, offset @4/8, vaddr @8/16, filesz @16/32
 *   dynamic entry (8/16 bytes): tag, value
 *   Verdef (20 bytes): version u16, flags u16, ndx u16, cnt u16, hash u32, aux u32, next u32
 *   Verdaux (8 bytes): name u32, next u32
 *   Verneed (16 bytes): version u16, cnt u16, file u32, aux u32, next u32
 *   Vernaux (16 bytes): hash u32, flags u16, other u16, name u32, next u32
 */
import { PhotonError } from '../util/errors.ts';

export interface ElfVersionDef {
  /** The version index symbols refer to; 1 is the base (the library's own name). */
  index: number;
  flags: number;
  /** VER_FLG_BASE: the entry naming the file itself, not a version. */
  base: boolean;
  name: string;
  /** Further Verdaux names: the versions this one inherits from. */
  parents: string[];
}

export interface ElfVersionNeed {
  /** The needed file, as in DT_NEEDED. */
  file: string;
  versions: Array<{ name: string; index: number; flags: number; weak: boolean }>;
}

export type ElfType = 'none' | 'rel' | 'exec' | 'dyn' | 'core' | 'other';

export interface ElfInfo {
  class: 32 | 64;
  endian: 'little' | 'big';
  osabi: number;
  type: ElfType;
  typeId: number;
  /** Our short name (x86_64, aarch64, i386, arm, …) or `machine-N` for the rest. */
  machine: string;
  machineId: number;
  /** PT_INTERP: the dynamic loader. */
  interp?: string;
  /** Where the dynamic information came from; undefined when there is none (static, object files). */
  dynamicFrom?: 'sections' | 'segments';
  needed: string[];
  soname?: string;
  rpath?: string;
  runpath?: string;
  hasHash: boolean;
  hasGnuHash: boolean;
  hasDebug: boolean;
  verdefs: ElfVersionDef[];
  verneeds: ElfVersionNeed[];
}

export const EM = {
  SPARC: 2, I386: 3, M68K: 4, MIPS: 8, PARISC: 15, SPARC32PLUS: 18, PPC: 20, PPC64: 21, S390: 22, ARM: 40, SH: 42,
  SPARCV9: 43, ALPHA: 41, IA_64: 50, X86_64: 62, AARCH64: 183, RISCV: 243, LOONGARCH: 258, FAKE_ALPHA: 0x9026,
} as const;

const MACHINE_NAMES: Record<number, string> = {
  2: 'sparc', 3: 'i386', 4: 'm68k', 8: 'mips', 15: 'parisc', 18: 'sparc32plus', 20: 'ppc', 21: 'ppc64', 22: 's390', 40: 'arm',
  41: 'alpha', 42: 'sh', 43: 'sparcv9', 50: 'ia64', 62: 'x86_64', 183: 'aarch64', 243: 'riscv', 258: 'loongarch', 0x9026: 'alpha',
};
const TYPES: ElfType[] = ['none', 'rel', 'exec', 'dyn', 'core'];

const SHT_STRTAB = 3;
const SHT_DYNAMIC = 6;
const SHT_NOBITS = 8;
const SHT_GNU_VERDEF = 0x6ffffffd;
const SHT_GNU_VERNEED = 0x6ffffffe;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const DT = {
  NULL: 0, NEEDED: 1, HASH: 4, STRTAB: 5, STRSZ: 10, SONAME: 14, RPATH: 15, DEBUG: 21, RUNPATH: 29,
  GNU_HASH: 0x6ffffef5, VERDEF: 0x6ffffffc, VERDEFNUM: 0x6ffffffd, VERNEED: 0x6ffffffe, VERNEEDNUM: 0x6fffffff,
} as const;
const VER_FLG_BASE = 1;
const VER_FLG_WEAK = 2;
/** A sane bound on counts read from the file, so corrupt ones fail instead of looping for long. */
const MAX_ENTRIES = 1 << 20;

const text = new TextDecoder('utf-8');

class Reader {
  readonly le: boolean;
  readonly is64: boolean;
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array, readonly fail: (msg: string) => never) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.is64 = bytes[4] === 2;
    this.le = bytes[5] === 1;
  }
  check(at: number, n: number, what: string): void {
    if (!Number.isSafeInteger(at) || at < 0 || n < 0 || at + n > this.bytes.length) this.fail(`${what} at offset ${at} lies outside the file (${this.bytes.length} bytes)`);
  }
  u16(at: number, what = 'field'): number {
    this.check(at, 2, what);
    return this.view.getUint16(at, this.le);
  }
  u32(at: number, what = 'field'): number {
    this.check(at, 4, what);
    return this.view.getUint32(at, this.le);
  }
  u64(at: number, what = 'field'): number {
    this.check(at, 8, what);
    const v = this.view.getBigUint64(at, this.le);
    // Offsets and sizes past 2^53 cannot be real in a file we hold in memory.
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }
  /** A class-sized word: u32 in 32-bit files, u64 in 64-bit ones. */
  word(at: number, what = 'field'): number {
    return this.is64 ? this.u64(at, what) : this.u32(at, what);
  }
  /** A signed class-sized word (dynamic tags), as a number; tags we know fit in 32 bits. */
  sword(at: number, what = 'field'): number {
    if (!this.is64) return this.view.getInt32((this.check(at, 4, what), at), this.le);
    this.check(at, 8, what);
    const v = this.view.getBigInt64(at, this.le);
    return v > 0xffffffffn || v < -0x80000000n ? -1 : Number(v);
  }
}

interface StrTab {
  offset: number;
  size: number;
}

function readString(r: Reader, tab: StrTab, index: number, what: string): string {
  if (index >= tab.size) r.fail(`${what}: string index ${index} is past its string table (${tab.size} bytes)`);
  const start = tab.offset + index;
  const end = r.bytes.indexOf(0, start);
  if (end < 0 || end >= tab.offset + tab.size) r.fail(`${what}: unterminated string at offset ${start}`);
  return text.decode(r.bytes.subarray(start, end));
}

interface Section {
  type: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
}

/**
 * Reads `bytes` as an ELF file; undefined when it is not one (no \x7fELF magic), so callers
 * may hand over any file. A file with the magic that is truncated or corrupt is E_ELF.
 */
export function readElf(bytes: Uint8Array, file?: string): ElfInfo | undefined {
  if (bytes.length < 4 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) return undefined;
  const fail = (msg: string): never => {
    throw new PhotonError('E_ELF', `corrupt or truncated ELF file: ${msg}`, file ? { file } : {});
  };
  if (bytes.length < 52) fail(`only ${bytes.length} bytes, shorter than an ELF header`);
  if (bytes[4] !== 1 && bytes[4] !== 2) fail(`unknown ELF class ${bytes[4]}`);
  if (bytes[5] !== 1 && bytes[5] !== 2) fail(`unknown byte order ${bytes[5]}`);
  const r = new Reader(bytes, fail);
  const is64 = r.is64;
  if (is64 && bytes.length < 64) fail(`only ${bytes.length} bytes, shorter than an ELF64 header`);
  const typeId = r.u16(16);
  const machineId = r.u16(18);
  const phoff = r.word(is64 ? 32 : 28);
  const shoff = r.word(is64 ? 40 : 32);
  const phentsize = r.u16(is64 ? 54 : 42);
  let phnum = r.u16(is64 ? 56 : 44);
  const shentsize = r.u16(is64 ? 58 : 46);
  let shnum = r.u16(is64 ? 60 : 48);

  const info: ElfInfo = {
    class: is64 ? 64 : 32,
    endian: r.le ? 'little' : 'big',
    osabi: bytes[7]!,
    type: TYPES[typeId] ?? 'other',
    typeId,
    machine: MACHINE_NAMES[machineId] ?? `machine-${machineId}`,
    machineId,
    needed: [],
    hasHash: false,
    hasGnuHash: false,
    hasDebug: false,
    verdefs: [],
    verneeds: [],
  };

  // Section headers. With more than 0xff00 sections the count lives in section 0's sh_size,
  // and a program header count of 0xffff in its sh_info.
  const sections: Section[] = [];
  if (shoff !== 0) {
    if (shentsize < (is64 ? 64 : 40)) fail(`section header size ${shentsize} is too small`);
    const sh = (i: number): Section => {
      const at = shoff + i * shentsize;
      r.check(at, shentsize, `section header ${i}`);
      return is64
        ? { type: r.u32(at + 4), offset: r.u64(at + 24), size: r.u64(at + 32), link: r.u32(at + 40), info: r.u32(at + 44), entsize: r.u64(at + 56) }
        : { type: r.u32(at + 4), offset: r.u32(at + 16), size: r.u32(at + 20), link: r.u32(at + 24), info: r.u32(at + 28), entsize: r.u32(at + 36) };
    };
    const first = sh(0);
    if (shnum === 0) shnum = first.size;
    if (phnum === 0xffff) phnum = first.info;
    if (shnum > MAX_ENTRIES) fail(`absurd section count ${shnum}`);
    r.check(shoff, shnum * shentsize, 'section header table');
    for (let i = 0; i < shnum; i++) sections.push(i === 0 ? first : sh(i));
  }

  // Program headers: the interpreter, and the fallback route to the dynamic section.
  interface Segment { type: number; offset: number; vaddr: number; filesz: number }
  const segments: Segment[] = [];
  if (phoff !== 0 && phnum > 0) {
    if (phentsize < (is64 ? 56 : 32)) fail(`program header size ${phentsize} is too small`);
    r.check(phoff, phnum * phentsize, 'program header table');
    for (let i = 0; i < phnum; i++) {
      const at = phoff + i * phentsize;
      segments.push(
        is64
          ? { type: r.u32(at), offset: r.u64(at + 8), vaddr: r.u64(at + 16), filesz: r.u64(at + 32) }
          : { type: r.u32(at), offset: r.u32(at + 4), vaddr: r.u32(at + 8), filesz: r.u32(at + 16) },
      );
    }
  }
  const interp = segments.find((s) => s.type === PT_INTERP);
  if (interp) {
    r.check(interp.offset, interp.filesz, 'PT_INTERP');
    const raw = bytes.subarray(interp.offset, interp.offset + interp.filesz);
    const z = raw.indexOf(0);
    info.interp = text.decode(z < 0 ? raw : raw.subarray(0, z));
  }

  const strtabOf = (s: Section, what: string): StrTab => {
    const t = sections[s.link];
    if (!t || t.type !== SHT_STRTAB) fail(`${what}: sh_link ${s.link} is not a string table`);
    r.check(t!.offset, t!.size, `${what} string table`);
    return { offset: t!.offset, size: t!.size };
  };
  const dynEnt = is64 ? 16 : 8;

  const dynSections = sections.filter((s) => s.type === SHT_DYNAMIC);
  if (dynSections.length) {
    info.dynamicFrom = 'sections';
    for (const s of dynSections) {
      const strtab = strtabOf(s, 'dynamic section');
      const ent = s.entsize || dynEnt;
      if (ent < dynEnt) fail(`dynamic entry size ${ent} is too small`);
      r.check(s.offset, s.size, 'dynamic section');
      const entries: Array<[number, number]> = [];
      for (let at = s.offset; at + ent <= s.offset + s.size; at += ent) entries.push([r.sword(at), r.word(at + (is64 ? 8 : 4))]);
      applyDynamic(r, info, entries, strtab);
    }
    for (const s of sections) {
      if (s.type === SHT_GNU_VERDEF) info.verdefs.push(...readVerdefs(r, s.offset, s.size, s.info, strtabOf(s, '.gnu.version_d')));
      if (s.type === SHT_GNU_VERNEED) info.verneeds.push(...readVerneeds(r, s.offset, s.size, s.info, strtabOf(s, '.gnu.version_r')));
    }
  } else if (!sections.some((s) => s.type !== 0 && s.type !== SHT_NOBITS)) {
    const dyn = segments.find((s) => s.type === PT_DYNAMIC);
    if (dyn) {
      info.dynamicFrom = 'segments';
      readDynamicFromSegments(r, info, segments, dyn);
    }
  }
  return info;
}

function applyDynamic(r: Reader, info: ElfInfo, entries: Array<[number, number]>, strtab: StrTab): void {
  // Like elfdeps, every entry counts, including any after DT_NULL (they are padding: DT_NULL too).
  for (const [tag, val] of entries) {
    switch (tag) {
      case DT.NEEDED: info.needed.push(readString(r, strtab, val, 'DT_NEEDED')); break;
      case DT.SONAME: info.soname = readString(r, strtab, val, 'DT_SONAME'); break;
      case DT.RPATH: info.rpath = readString(r, strtab, val, 'DT_RPATH'); break;
      case DT.RUNPATH: info.runpath = readString(r, strtab, val, 'DT_RUNPATH'); break;
      case DT.HASH: info.hasHash = true; break;
      case DT.GNU_HASH: info.hasGnuHash = true; break;
      case DT.DEBUG: info.hasDebug = true; break;
      default: break;
    }
  }
}

function readVerdefs(r: Reader, offset: number, size: number, count: number, strtab: StrTab): ElfVersionDef[] {
  r.check(offset, size, '.gnu.version_d');
  if (count > MAX_ENTRIES) r.fail(`absurd version definition count ${count}`);
  const out: ElfVersionDef[] = [];
  let at = offset;
  const end = offset + size;
  for (let i = 0; i < count; i++) {
    if (at + 20 > end) r.fail(`version definition ${i} runs past its section`);
    const flags = r.u16(at + 2);
    const index = r.u16(at + 4);
    const cnt = r.u16(at + 6);
    const names: string[] = [];
    let aux = at + r.u32(at + 12);
    for (let j = 0; j < cnt; j++) {
      if (aux + 8 > end) r.fail(`version definition ${i}: auxiliary entry ${j} runs past its section`);
      names.push(readString(r, strtab, r.u32(aux), 'version definition'));
      const next = r.u32(aux + 4);
      if (next === 0) break;
      aux += next;
    }
    if (!names.length) r.fail(`version definition ${i} has no name`);
    out.push({ index, flags, base: (flags & VER_FLG_BASE) !== 0, name: names[0]!, parents: names.slice(1) });
    const next = r.u32(at + 16);
    if (next === 0) break;
    at += next;
  }
  return out;
}

function readVerneeds(r: Reader, offset: number, size: number, count: number, strtab: StrTab): ElfVersionNeed[] {
  r.check(offset, size, '.gnu.version_r');
  if (count > MAX_ENTRIES) r.fail(`absurd version need count ${count}`);
  const out: ElfVersionNeed[] = [];
  let at = offset;
  const end = offset + size;
  for (let i = 0; i < count; i++) {
    if (at + 16 > end) r.fail(`version need ${i} runs past its section`);
    const cnt = r.u16(at + 2);
    const need: ElfVersionNeed = { file: readString(r, strtab, r.u32(at + 4), 'version need'), versions: [] };
    let aux = at + r.u32(at + 8);
    for (let j = 0; j < cnt; j++) {
      if (aux + 16 > end) r.fail(`version need ${i}: auxiliary entry ${j} runs past its section`);
      const flags = r.u16(aux + 4);
      need.versions.push({ name: readString(r, strtab, r.u32(aux + 8), 'version need'), index: r.u16(aux + 6), flags, weak: (flags & VER_FLG_WEAK) !== 0 });
      const next = r.u32(aux + 12);
      if (next === 0) break;
      aux += next;
    }
    out.push(need);
    const next = r.u32(at + 12);
    if (next === 0) break;
    at += next;
  }
  return out;
}

/** Without section headers: PT_DYNAMIC's entries, with addresses mapped to file offsets. */
function readDynamicFromSegments(
  r: Reader,
  info: ElfInfo,
  segments: Array<{ type: number; offset: number; vaddr: number; filesz: number }>,
  dyn: { offset: number; filesz: number },
): void {
  const ent = r.is64 ? 16 : 8;
  r.check(dyn.offset, dyn.filesz, 'PT_DYNAMIC');
  const entries: Array<[number, number]> = [];
  for (let at = dyn.offset; at + ent <= dyn.offset + dyn.filesz; at += ent) {
    const tag = r.sword(at);
    if (tag === DT.NULL) break;
    entries.push([tag, r.word(at + (r.is64 ? 8 : 4))]);
  }
  const toOffset = (addr: number, what: string): number => {
    const seg = segments.find((s) => s.type === PT_LOAD && addr >= s.vaddr && addr < s.vaddr + s.filesz);
    if (!seg) r.fail(`${what} address 0x${addr.toString(16)} is in no loaded segment`);
    return seg!.offset + (addr - seg!.vaddr);
  };
  const value = (tag: number) => entries.find(([t]) => t === tag)?.[1];
  const strAddr = value(DT.STRTAB);
  if (strAddr === undefined) r.fail('PT_DYNAMIC has no DT_STRTAB');
  const strtab = { offset: toOffset(strAddr!, 'DT_STRTAB'), size: value(DT.STRSZ) ?? 0 };
  r.check(strtab.offset, strtab.size, 'DT_STRTAB');
  applyDynamic(r, info, entries, strtab);
  const verdef = value(DT.VERDEF);
  if (verdef !== undefined) {
    const off = toOffset(verdef, 'DT_VERDEF');
    info.verdefs.push(...readVerdefs(r, off, r.bytes.length - off, value(DT.VERDEFNUM) ?? 0, strtab));
  }
  const verneed = value(DT.VERNEED);
  if (verneed !== undefined) {
    const off = toOffset(verneed, 'DT_VERNEED');
    info.verneeds.push(...readVerneeds(r, off, r.bytes.length - off, value(DT.VERNEEDNUM) ?? 0, strtab));
  }
}
