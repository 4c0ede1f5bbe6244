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
  type FakeGitHub,
  type FakeGitHubInstallation,
  type FakeGoogleDirectory,
  type FakeGoogleToken,
  type FakeGraph,
  type FakeGraphApplication,
  type FakeGraphOwner,
  type FakeGraphServicePrincipal,
  type FakeOkta,
  type FakeOktaApp,
  GITHUB_API_VERSION,
  startFakeGitHub,
  startFakeGoogleDirectory,
  startFakeGraph,
  startFakeOkta,
} from './idp-inventories.js';
export {
  FAKE_OPSGENIE_ESCALATIONS,
  FAKE_OPSGENIE_SCHEDULES,
  FAKE_OPSGENIE_USERS,
  type FakeOpsgenie,
  type FakeOpsgenieAlert,
  type FakeOpsgenieEscalation,
  type FakeOpsgenieSchedule,
  type FakeOpsgenieUser,
  type OpsgenieProcessingFault,
  startFakeOpsgenie,
} from './opsgenie.js';
export {
  FAKE_PAGERDUTY_SCHEDULES,
  type FakePagerDuty,
  type FakePagerDutyEscalationPolicy,
  type FakePagerDutyIncident,
  type FakePagerDutySchedule,
  type FakePagerDutyUser,
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
