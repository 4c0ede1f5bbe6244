export {
  type AccessibilityOptions,
  accessibilityProblems,
  type BrowserSession,
  type BrowserSessionOptions,
  browserSession,
  CHROMIUM_ARGS,
  CHROMIUM_PATH,
  COLOUR_SIGNALS,
  DESKTOP_VIEWPORT,
  ensureChromium,
  launchChromium,
  SCREENSHOTS_DIR,
  type SignInOptions,
  watchPage,
} from './browser.js';
export { createTestDatabase, refusalOf, sqlAs, uniqueNamespace, urlAs } from './db.js';
export * from './fakes/index.js';
export {
  ALERTMANAGER_VERSION,
  type AlertmanagerConfig,
  type AlertmanagerHttpConfig,
  type AlertmanagerReceiver,
  type AlertmanagerRoute,
  type AlertmanagerWebhookConfig,
  type LocalAlertmanager,
  renderAlertmanagerConfig,
  type StartAlertmanagerOptions,
  startAlertmanager,
  TEST_ROUTE_DEFAULTS,
} from './infra/alertmanager.js';
export { KAFKA_VERSION } from './infra/kafka.js';
export { APP_REGISTRY_POLICY_DIR, type LocalOpa, type StartOpaOptions, startOpa } from './infra/opa.js';
export { ensureDatabase } from './infra/postgres.js';
export { freePort, type Log, waitFor } from './infra/process.js';
export { REPO_ROOT, type Stack, startStack } from './infra/stack.js';
export {
  compareVersions,
  ensureTool,
  overrideVariable,
  type RunResult,
  run as runCommand,
  type ToolName,
  toolPins,
  toolsBinDir,
} from './infra/tools.js';
export { DEV_USERS, type DevUser, type LocalIssuer, startLocalIssuer } from './issuer.js';
export { type RawMessage, testKafka } from './kafka.js';
export { metricSample, metricSamples } from './metrics.js';
export { eventNames, type OpenStream, openStream } from './sse.js';
export { parseXml, type XmlElement } from './xml.js';
