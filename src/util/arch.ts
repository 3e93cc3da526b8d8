/** The architectures this distribution is built for, and boots (RPM's names). */
export const ARCHES = ['x86_64', 'aarch64'] as const;
export type Arch = (typeof ARCHES)[number];

/** The RPM architecture of this machine (uname -m's name: x86_64, aarch64, …), from Node's. */
export function hostRpmArch(): string {
  const map: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'i686', arm: 'armv7hl', ppc64: 'ppc64le', s390x: 's390x' };
  return map[process.arch] ?? process.arch;
}

/** This machine's architecture when it is one of ARCHES. */
export function hostArch(): Arch | undefined {
  const a = hostRpmArch();
  return (ARCHES as readonly string[]).includes(a) ? (a as Arch) : undefined;
}

/**
 * UEFI's name for the architecture in file names (x64, aa64): the removable-media loader
 * \EFI\BOOT\BOOT<X64>.EFI, systemd-boot<x64>.efi, grub<x64>.efi.
 */
export function efiArch(arch: Arch): 'x64' | 'aa64' {
  return arch === 'x86_64' ? 'x64' : 'aa64';
}
