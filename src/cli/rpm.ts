import { PhotonError } from '../util/errors.ts';

/**
 * `photon rpm VERB ...`: each verb in its own module, so that the query, pack, sign and
 * install code paths load only what they use.
 */
const VERBS: Record<string, () => Promise<{ main(argv: string[]): Promise<number> }>> = {
  query: () => import('./rpm-query.ts'),
  pack: () => import('./rpm-pack.ts'),
  sign: () => import('./rpm-sign.ts'),
  checksig: () => import('./rpm-checksig.ts'),
  install: () => import('./rpm-install.ts'),
  erase: async () => ({ main: (await import('./rpm-install.ts')).erase }),
};

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  const load = verb ? VERBS[verb] : undefined;
  if (!load) {
    throw new PhotonError('E_USAGE', `usage: photon rpm {${Object.keys(VERBS).join('|')}} ...${verb ? ` (unknown verb '${verb}')` : ''}`);
  }
  return (await load()).main(rest);
}
