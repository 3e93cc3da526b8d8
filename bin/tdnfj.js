#!/usr/bin/env node
// tdnfj = tdnf -j -y, as C tdnf ships it; the CLI tells which from the program name (argv[1]).
await import('./tdnf.js');
