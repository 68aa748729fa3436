import fs from "fs";
import path from "path";
import { writesFile } from "../analysis/dataflow";
import { packageRoot } from "../paths";
import type { DB } from "../store/database";
import {
  getActivations, getDependencies, getDeployment, getEnvironment, getFileAccesses, getModules, getValues,
  type ActivationRow, type DependencyRow, type DeploymentRow, type EnvRow, type FileAccessRow, type ModuleRow,
  type TrialRow, type ValueRow,
} from "../store/queries";

/** Everything an export writes about one trial, read once through the store's queries. */
export interface TrialExport {
  trial: TrialRow;
  deployment: DeploymentRow | null;
  environment: EnvRow[];
  modules: ModuleRow[];
  activations: ActivationRow[];
  files: FileAccessRow[];
  values: ValueRow[];
  dependencies: DependencyRow[];
  /** The exporting tool: name and version (from package.json). */
  tool: { name: string; version: string };
}

export function loadTrialExport(db: DB, trial: TrialRow): TrialExport {
  return {
    trial,
    deployment: getDeployment(db, trial.id),
    environment: getEnvironment(db, trial.id),
    modules: getModules(db, trial.id),
    activations: getActivations(db, trial.id),
    files: getFileAccesses(db, trial.id),
    values: getValues(db, trial.id),
    dependencies: getDependencies(db, trial.id),
    tool: { name: "nowls", version: toolVersion() },
  };
}

let cachedVersion: string | undefined;

export function toolVersion(): string {
  if (cachedVersion === undefined) {
    const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), "package.json"), "utf8")) as { version?: string };
    cachedVersion = pkg.version ?? "0.0.0";
  }
  return cachedVersion;
}

/** The mode can change the file: the dataflow graph's rule (analysis/dataflow.ts). */
export const writesMode = writesFile;
