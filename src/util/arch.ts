/** The RPM architecture of this machine (uname -m's name: x86_64, aarch64, …), from Node's. */
export function hostRpmArch(): string {
  const map: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'i686', arm: 'armv7hl', ppc64: 'ppc64le', s390x: 's390x' };
  return map[process.arch] ?? process.arch;
}
