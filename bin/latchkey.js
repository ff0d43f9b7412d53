#!/usr/bin/env node
'use strict';
require('../dist/cli/index.js')
  .run(process.argv.slice(2))
  .then((code) => {
    if (code !== undefined) process.exit(code);
  });
