export {
  type FakeAwsHealth,
  type FakeHealthEvent,
  HEALTH_EVENT_STATUS_CODES,
  HEALTH_EVENT_TYPE_CATEGORIES,
  type HealthEventStatusCode,
  type HealthEventTypeCategory,
  startFakeAwsHealth,
} from './aws-health.js';
export {
  type FakeOpsgenie,
  type FakeOpsgenieAlert,
  type OpsgenieProcessingFault,
  startFakeOpsgenie,
} from './opsgenie.js';
export {
  type FakePagerDuty,
  type FakePagerDutyIncident,
  PAGERDUTY_MEDIA_TYPE,
  startFakePagerDuty,
} from './pagerduty.js';
export {
  type FakePagerDutyAlert,
  type FakePagerDutyEvent,
  type FakePagerDutyEvents,
  PAGERDUTY_EVENT_SEVERITIES,
  type PagerDutyEventSeverity,
  startFakePagerDutyEvents,
} from './pagerduty-events.js';
export type { Fault, RecordedRequest } from './server.js';
export { type FakeSlack, startFakeSlack } from './slack.js';
export {
  type FakeStatuspage,
  type FakeStatuspageComponent,
  STATUSPAGE_COMPONENT_STATUSES,
  type StatuspageComponentStatus,
  startFakeStatuspage,
} from './statuspage.js';
