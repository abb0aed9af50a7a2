import { Aws, CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { telemetry } from '../telemetry.js';
import type { PipelineStack } from './pipeline-stack.js';

/** Properties of the {@link OperationsStack}. */
export interface OperationsStackProps extends StackProps {
  readonly pipeline: PipelineStack;
  /** Subscribed to the alarm topic when given (`-c alarmEmail=…`); confirm the e-mail AWS sends. */
  readonly alarmEmail?: string;
}

/** Alarms look at five-minute windows: the pollers report once per poll (about a minute). */
const ALARM_PERIOD = Duration.minutes(5);

/** A metric the handlers publish (Powertools adds the `service` dimension to every metric). */
const custom = (
  metricName: string,
  dimensions: Record<string, string> = {},
  statistic: string = cloudwatch.Stats.SUM,
): cloudwatch.Metric =>
  new cloudwatch.Metric({
    namespace: telemetry.namespace,
    metricName,
    dimensionsMap: { service: telemetry.service, ...dimensions },
    statistic,
    period: ALARM_PERIOD,
  });

/**
 * Operations: an alarm per stage on dead-letter growth and on errors, alarms on failed heals and
 * on rollbacks, all sent to one SNS topic, and a CloudWatch dashboard of the pipeline.
 *
 * Dead letters and outcomes are custom metrics (namespace `SelfHeal`, see `infra/telemetry.ts`):
 * the pollers publish what they dead-lettered and the length of their dead-letter stream after
 * every poll; the trace copier publishes how heals ended as it copies their trace steps.
 */
export class OperationsStack extends Stack {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm, by a readable name (`dead-letters:rca`, `heal-rolled-back`, …). */
  readonly alarms: ReadonlyMap<string, cloudwatch.Alarm>;

  constructor(scope: Construct, id: string, props: OperationsStackProps) {
    super(scope, id, props);
    const { pipeline } = props;
    this.topic = new sns.Topic(this, 'Alarms', { displayName: 'Self-heal alarms' });
    if (props.alarmEmail) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
    const notify = new actions.SnsAction(this.topic);
    const alarms = new Map<string, cloudwatch.Alarm>();
    const alarm = (
      key: string,
      alarmId: string,
      metric: cloudwatch.IMetric,
      description: string,
    ): cloudwatch.Alarm => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        metric,
        alarmDescription: description,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // No data means no poll reported trouble: quiet, not alarming.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(notify);
      alarms.set(key, created);
      return created;
    };

    const stageRows: cloudwatch.IWidget[] = [];
    for (const [name, stage] of pipeline.stageFunctions) {
      const id = name.replace(/[^A-Za-z0-9]/g, '');
      const dims = { [telemetry.dimensions.stage]: name };
      const deadLettered = custom(telemetry.metrics.deadLettered, dims);
      alarm(
        `dead-letters:${name}`,
        `${id}DeadLetters`,
        deadLettered,
        `Stage ${name} dead-lettered entries of ${stage.stage.input} (its .dlq stream grew)`,
      );
      const errors = new cloudwatch.MathExpression({
        label: `${name} errors`,
        expression: 'FILL(invocationErrors, 0) + FILL(recordFailures, 0)',
        usingMetrics: {
          invocationErrors: stage.fn.metricErrors({ period: ALARM_PERIOD }),
          recordFailures: custom(telemetry.metrics.recordsFailed, dims),
        },
        period: ALARM_PERIOD,
      });
      alarm(
        `errors:${name}`,
        `${id}Errors`,
        errors,
        `Stage ${name}: the poller failed or its handler failed records (left for redelivery)`,
      );
      stageRows.push(
        new cloudwatch.GraphWidget({
          title: `Stage ${name}`,
          width: 8,
          left: [
            custom(telemetry.metrics.recordsProcessed, dims),
            custom(telemetry.metrics.recordsFailed, dims),
            deadLettered,
          ],
          right: [custom(telemetry.metrics.deadLetterBacklog, dims, cloudwatch.Stats.MAXIMUM)],
          rightYAxis: { min: 0, label: 'dead-letter backlog' },
        }),
      );
    }

    const healFailed = custom(telemetry.metrics.healFailed);
    const healRolledBack = custom(telemetry.metrics.healRolledBack);
    alarm('heal-failed', 'HealFailed', healFailed, 'A heal failed and could not roll back cleanly');
    alarm(
      'heal-rolled-back',
      'HealRolledBack',
      healRolledBack,
      'A heal was rolled back (release and data): the live re-probe failed',
    );
    alarm(
      'trace-copier-errors',
      'TraceCopierErrors',
      pipeline.traceCopier.fn.metricErrors({ period: ALARM_PERIOD }),
      'The trace copier failed: the live dashboard may fall behind',
    );
    alarm(
      'api-errors',
      'ApiErrors',
      pipeline.api.fn.metricErrors({ period: ALARM_PERIOD }),
      'The API function failed invocations',
    );
    this.alarms = alarms;

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Heals',
        width: 12,
        left: [custom(telemetry.metrics.healed), healFailed, healRolledBack],
      }),
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        width: 12,
        alarms: [...alarms.values()],
      }),
    );
    this.dashboard.addWidgets(...stageRows);
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API and live stream',
        width: 12,
        left: [
          pipeline.api.fn.metricInvocations({ period: Duration.minutes(1) }),
          pipeline.api.fn.metricErrors({ period: Duration.minutes(1) }),
          pipeline.stream.fn.metricInvocations({ period: Duration.minutes(1) }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Trace copier (live dashboard feed)',
        width: 12,
        left: [custom(telemetry.metrics.traceEntriesCopied)],
        right: [pipeline.traceCopier.fn.metricErrors({ period: Duration.minutes(5) })],
      }),
      new cloudwatch.GraphWidget({
        title: 'Failed steps by stage',
        width: 12,
        left: [...pipeline.stageFunctions.keys()].map((name) =>
          custom(telemetry.metrics.stepFailed, { [telemetry.dimensions.stage]: name }),
        ),
      }),
    );

    new CfnOutput(this, 'CloudWatchDashboardUrl', {
      value: `https://console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}#dashboards:name=${this.dashboard.dashboardName}`,
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.topic.topicArn });
  }
}
