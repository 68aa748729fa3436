#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm install` through `prepare`).
"use strict";
const path = require("path");
const fs = require("fs");
const entry = path.join(__dirname, "..", "dist", "server", "src", "cli.js");
if (!fs.existsSync(entry)) {
  process.stderr.write("now: not built yet; run `npm install` (or `npm run build`) in " + path.dirname(__dirname) + "\n");
  process.exit(2);
}
require(entry).main(process.argv.slice(2));
