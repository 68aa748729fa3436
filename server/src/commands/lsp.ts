// `now lsp --stdio`: the language server on this process's stdin and stdout.
import { createConnection } from "vscode-languageserver/node";
import { NowServer } from "../lsp/server";

export function lspCommand(o: { cwd: string }): void {
  const connection = createConnection(process.stdin, process.stdout);
  connection.onInitialize((params) => {
    const { server, result } = NowServer.initialize(connection, params, o.cwd);
    server.register();
    return result;
  });
  connection.listen();
}
