/**
 * The names the Lambda handlers publish metrics under and the operations stack alarms on. Plain
 * data, read by both sides (`functions/runtime/lambda-observability.ts` and
 * `infra/aws/operations-stack.ts`), so a renamed metric cannot leave an alarm watching nothing.
 */
export const telemetry = {
  /** CloudWatch namespace of every custom metric (Powertools Metrics, embedded metric format). */
  namespace: 'SelfHeal',
  /** Powertools service name; also the `service` dimension Powertools adds to every metric. */
  service: 'selfheal',
  dimensions: {
    /** The stage a poller metric belongs to. */
    stage: 'stage',
  },
  metrics: {
    /** Records a poller handed to its stage handler. */
    recordsProcessed: 'RecordsProcessed',
    /** Records the handler failed: left pending for redelivery. */
    recordsFailed: 'RecordsFailed',
    /** Records moved to the stage's dead-letter stream during one poll. */
    deadLettered: 'DeadLettered',
    /** Length of the stage's dead-letter stream at the end of a poll (a gauge). */
    deadLetterBacklog: 'DeadLetterBacklog',
    /** Trace entries the copier wrote to the DynamoDB copy during one run (its heartbeat). */
    traceEntriesCopied: 'TraceEntriesCopied',
    /** Trace steps a stage recorded with status `failed`, by stage (from the trace stream). */
    stepFailed: 'StepFailed',
    /** Heals that activated a release and passed the live re-probe. */
    healed: 'Healed',
    /** Heals that failed and could not roll back cleanly. */
    healFailed: 'HealFailed',
    /** Heals that rolled the release and the data back. */
    healRolledBack: 'HealRolledBack',
  },
} as const;
