#!/bin/sh
":" //; while IFS= read -r l; do case $l in SigIgn:*) NOW_TRACER_SIGIGN=${l#SigIgn:}; export NOW_TRACER_SIGIGN; break;; esac; done 2>/dev/null </proc/self/status; exec node "$0" "$@"
// Launcher, a shell script and a Node module in one file (sh runs the line above; for
// Node it is a string and a comment). The shell part is there for one thing Node cannot
// do: Node resets every signal disposition at start-up, so a signal the caller ignored
// (`nohup now run x.py`: SIGHUP) would not be ignored by the script any more. A
// non-interactive sh keeps the ignored ones; their mask, read from its own
// /proc/self/status without starting another program, goes to the script's interpreter
// in NOW_TRACER_SIGIGN, where python-tracer/boot/sitecustomize.py ignores them again.
// `node bin/now.js …` skips that part. The compiled CLI lives in dist/ (built by
// `npm install` through `prepare`).
"use strict";
const path = require("path");
const fs = require("fs");
const entry = path.join(__dirname, "..", "dist", "server", "src", "cli.js");
if (!fs.existsSync(entry)) {
  process.stderr.write("now: not built yet; run `npm install` (or `npm run build`) in " + path.dirname(__dirname) + "\n");
  process.exit(2);
}
require(entry).main(process.argv.slice(2));
