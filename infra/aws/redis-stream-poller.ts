import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { POLL_PERIOD } from './stage-function.js';

/** Properties of a {@link RedisStreamPoller}. */
export interface RedisStreamPollerProps {
  /** The function that polls: a stage's scheduled poller, or the trace copier. */
  readonly fn: lambda.IFunction;
  /** What it polls, for the schedule's description and the invocation's input. */
  readonly name: string;
  readonly stream: string;
  /** @default POLL_PERIOD (one minute, the finest rate EventBridge Scheduler offers) */
  readonly period?: Duration;
}

/**
 * The event-source mapping Lambda lacks for Redis Streams: an EventBridge Scheduler schedule
 * that starts the function every minute. The function loops `XREADGROUP` until shortly before
 * its deadline, and its timeout is longer than the period, so consecutive pollers overlap and
 * the stream always has a reader.
 *
 * A missed start is not retried (the next one comes within a minute): no retries on the
 * schedule's target, and none on the function's asynchronous invocations, whose events expire
 * after one period rather than queueing up behind a throttle.
 */
export class RedisStreamPoller extends Construct {
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: RedisStreamPollerProps) {
    super(scope, id);
    const period = props.period ?? POLL_PERIOD;
    props.fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.seconds(60) });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: `Polls ${props.stream} for ${props.name} every ${period.toHumanString()}`,
      schedule: scheduler.ScheduleExpression.rate(period),
      target: new targets.LambdaInvoke(props.fn, {
        input: scheduler.ScheduleTargetInput.fromObject({
          source: 'selfheal.poller',
          poller: props.name,
          stream: props.stream,
        }),
        retryAttempts: 0,
        maxEventAge: Duration.seconds(60),
      }),
    });
  }
}
