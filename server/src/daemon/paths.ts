import path from "path";
import { nowDir } from "../paths";

export const socketPath = (root: string) => path.join(nowDir(root), "daemon.sock");
export const lockPath = (root: string) => path.join(nowDir(root), "daemon.lock");
export const logPath = (root: string) => path.join(nowDir(root), "daemon.log");
