/*
 * Discovery source readers: files (and raw lines) of cloud audit logs and gateway access logs →
 * sightings. `readFile` handles gzip, format detection, cursors and errors; the per-format
 * functions read one record or line and are what a consumer of a topic of raw lines calls.
 */
export { type AccessLogOptions, apiGatewaySighting, envoySighting, nginxSighting } from './access-logs.js';
export { azureActivitySighting } from './azure-activity.js';
export { cloudTrailSighting } from './cloudtrail.js';
export { LineError, type RecordOrigin } from './common.js';
export { detectFormat, skippedFile } from './detect.js';
export { gcpAuditSighting } from './gcp-audit.js';
export {
  type FileProgress,
  type FileReading,
  MAX_ERRORS_KEPT,
  type ReadFileOptions,
  readFile,
  readLine,
} from './read-file.js';
