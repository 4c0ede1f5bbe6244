// Pinned command-line tools built from source with Go (helm, conftest, opa, Alertmanager).
//
// The pins and the builder live in the test-kit (packages/test-kit/src/infra/tools.ts), because
// the test-kit's launchers build what they start on first use and packages never import
// scripts/. The scripts keep using this module.
export {
  compareVersions,
  ensureTool,
  overrideVariable,
  REPO_ROOT as repoRoot,
  type RunResult,
  runCommand as run,
  type ToolName,
  toolPins,
  toolsBinDir,
} from '@micro-oncall/test-kit';
