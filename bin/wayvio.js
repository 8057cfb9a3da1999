#!/usr/bin/env node
// Entry point: runs the compiled CLI; the long-running proxies first restart with a lean heap.
const argv = process.argv.slice(2);
if (['host', 'guest', 'run'].includes(argv[0])) require('../dist/cli/lean-heap.js').restartWithLeanHeap();
require('../dist/cli/main.js').main(argv);
