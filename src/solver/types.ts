/**
 * The solver's contract with tdnf's commands: what to do (jobs), under which rules (options),
 * and the transaction or the problems that come back. Package sets are global package numbers
 * of a Universe (src/solver/universe.ts), chosen by the caller (src/tdnf/query.ts).
 */

export type JobKind = 'install' | 'erase' | 'update' | 'downgrade' | 'reinstall';

export type Job =
  /** Install one of `packages` (the candidates of one spec: libsolv's SOLVABLE_ONE_OF). */
  | { kind: 'install'; packages: readonly number[] }
  /** Erase these installed packages. */
  | { kind: 'erase'; packages: readonly number[] }
  /** Update these installed packages to their best available versions. */
  | { kind: 'update'; packages: readonly number[] }
  | { kind: 'update-all' }
  /** Install one of `packages` (older versions of an installed name). */
  | { kind: 'downgrade'; packages: readonly number[] }
  /** Make every installed name match the best version the repositories offer. */
  | { kind: 'distro-sync' }
  /** Replace installed packages by these same-NEVRA repository packages. */
  | { kind: 'reinstall'; packages: readonly number[] }
  /** Erase auto-installed packages nothing user-installed needs any more. */
  | { kind: 'autoremove' };

export interface SolveOptions {
  /** May erase installed packages to resolve (tdnf --allowerasing; implied by erase). */
  allowErasing?: boolean;
  /** Insist on the best candidates (tdnf --best: libsolv's SOLVER_FORCEBEST). */
  best?: boolean;
  /** Drop jobs that cannot be satisfied and report them instead of failing (--skip-broken). */
  skipBroken?: boolean;
  /**
   * Leave out the jobs whose problem is a conflict (tdnf --skipconflicts, C tdnf's
   * SKIPPROBLEM_CONFLICTS): they are dropped silently and the rest is solved.
   */
  skipConflicts?: boolean;
  /** The same for problems that are obsoletes (tdnf --skipobsoletes, SKIPPROBLEM_OBSOLETES). */
  skipObsoletes?: boolean;
  /** Names installed alongside older versions (kernels), at most `installonlyLimit` kept. */
  installonlyNames?: readonly string[];
  installonlyLimit?: number;
  /** The running kernel (global package number), never erased by the installonly limit. */
  runningKernel?: number;
  /** Packages never considered (tdnf excludes); installed ones stay as they are. */
  excludes?: readonly number[];
  /** Names that must not change (locks.d): kept if installed, never installed otherwise. */
  locks?: readonly string[];
  /** name → minimum EVR (minversions.d): older packages are never installed nor erased. */
  minversions?: ReadonlyMap<string, string>;
  /** Names that must not be erased (protected.d). */
  protected?: readonly string[];
  /** Names the user asked for (history); other installed packages are auto-installed. */
  userInstalled?: readonly string[];
  /** Erase the dependencies an erase leaves unneeded (clean_requirements_on_remove). */
  cleanRequirementsOnRemove?: boolean;
  noAutoremove?: boolean;
  /** Install Recommends when they can be (libsolv's default, which C tdnf keeps). */
  installWeakDeps?: boolean;
}

export interface SolveResult {
  install: number[];
  /** Newer versions, with the installed packages each replaces. */
  upgrade: { pkg: number; replaces: number[] }[];
  downgrade: { pkg: number; replaces: number[] }[];
  reinstall: { pkg: number; replaces: number[] }[];
  erase: number[];
  /** Installed packages going away because `by` obsoletes them. */
  obsoleted: { pkg: number; by: number }[];
  /** In tdnf's words, one line per problem; empty when solved. */
  problems: string[];
  /**
   * tdnf's error code when the result is refused: 1301 (SOLV_FAILED) for problems, 1030 when
   * a protected package would be removed. Absent when solved (or skip-broken skipped).
   */
  code?: number;
}
