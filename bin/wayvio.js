#!/usr/bin/env node
// Entry point: runs the compiled CLI.
require('../dist/cli/main.js').main(process.argv.slice(2));
