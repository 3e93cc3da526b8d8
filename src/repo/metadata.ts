/**
 * RPM-md repository metadata readers: repomd.xml, and streaming readers for primary, filelists,
 * other and updateinfo (gz, xz, zst, bz2 detected by magic; checksums verified on the fly).
 */
export { type Repomd, type RepomdData, dataPath, expectationOf, findData, readRepomd } from './repomd.ts';
export {
  type MetadataExpectation, type MetadataSource, type ReadOptions, type RepoChecksum, hashAlgorithm, openMetadataBytes,
} from './_source.ts';
export { FLAGS_OF, type RepoFile, type RepoFileType, type RepoPackage, primaryPackages, readPrimary } from './primary.ts';
export {
  type Changelog, type FilelistsEntry, type OtherEntry, filelistsEntries, otherEntries, readFilelists, readOther,
} from './filelists.ts';
export {
  type Update, type UpdateCollection, type UpdatePackage, type UpdateReference, readUpdateinfo, updateinfoEntries,
} from './updateinfo.ts';
