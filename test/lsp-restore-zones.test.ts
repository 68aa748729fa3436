// The editor's "Restore this file from trial N" follows `now restore`'s rule: never for a
// file in the store, in version control or in a virtual environment.
import assert from "node:assert/strict";
import path from "path";
import { pathToFileURL } from "url";
import { test } from "node:test";
import { TextDocument } from "vscode-languageserver-textdocument";
import { codeActionsFor } from "../server/src/lsp/codeActions";
import { Project } from "../server/src/lsp/project";
import { now, PYTHON, tempProject, writeFiles } from "./helpers";

test("restore code actions: offered for the project's script, never for one inside a virtual environment", () => {
  const dir = tempProject("nowls-lsp-zones-");
  writeFiles(dir, {
    ".git/HEAD": "ref: refs/heads/main\n",
    "env/pyvenv.cfg": "home = /usr/bin\n",
    "env/bin/tool.py": "print('a tool the venv installed')\n",
    "main.py": "print('the project')\n",
  });
  for (const script of ["main.py", "env/bin/tool.py"]) {
    const r = now(["run", script], { cwd: dir, env: { ...process.env, NOW_PYTHON: PYTHON } });
    assert.equal(r.status, 0, r.stderr);
  }
  const project = new Project(dir);
  try {
    const titles = (file: string) => {
      const doc = TextDocument.create(pathToFileURL(path.join(dir, file)).href, "python", 2, "changed since\n");
      return codeActionsFor(project, doc).map((a) => a.title).filter((t) => t.startsWith("Restore"));
    };
    assert.equal(titles("main.py").length, 1, "the project's own script can be restored");
    assert.deepEqual(titles("env/bin/tool.py"), []);
  } finally {
    project.close();
  }
});
