"""
# Respond to alarms (`respond_to_alarms`)

The response loop of the major hazard sources' online monitoring (预警发布 → 响应处置): runs when
the warehouse is published (the Asset `build_mart` updates) and every minute besides, since an
alarm nobody acknowledges must be escalated on time whether or not anything new was built.

1. `record_alarms` reads the published alarm episodes of the last
   `CITYSAFETY_ALARM_LOOKBACK_HOURS` (default 24) from `marts.fct_sensor_alarm_episodes` and
   records each as an alarm in the operations database (`CITYSAFETY_OPERATIONS_DB_URL`), graded
   from the threshold reached and the hazard source's level by `policy/alarms.yml`; its warning
   notice goes to the outbox in the same transaction, to the enterprise contact, the street
   office and the emb duty officer as the grade says. A higher grade reached later sends a
   change (变更), the clearing reading a cancellation (解除), both naming the first notice.
2. `escalate_alarms` takes every alarm still 待签收 past its grade's time (红 5, 橙 15, 黄 30,
   蓝 60 minutes) one step up the ladder (street office → district duty officer → leader),
   audited as 升级.
3. `dispatch_notifications` sends what the outbox has due to the webhooks of
   `CITYSAFETY_WEBHOOKS_FILE` (DingTalk, WeCom or plain JSON), each message once, with back-off
   on 429/5xx. Without a webhooks file the task is skipped and says so: the messages wait in the
   outbox, none is lost; a file that is there but not private or malformed fails the task.

Every step is keyed: a run repeated, or two at once, records and sends nothing twice.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from citysafety import sources
from citysafety.orchestrate import queues
from citysafety.orchestrate.assets import warehouse_asset

# The outbox's own retries handle a receiver that is down; these cover the database or the
# process itself failing. A run every minute: a short timeout keeps one stuck run from holding
# the next ones back (max_active_runs=1).
STEP = {"retries": 2, "retry_delay": timedelta(seconds=10), "execution_timeout": timedelta(minutes=5)}


@dag(
    dag_id="respond_to_alarms",
    description="Record published alarm episodes, escalate unacknowledged alarms, send notices",
    doc_md=__doc__,
    schedule=AssetOrTimeSchedule(
        timetable=CronTriggerTimetable("* * * * *", timezone="Asia/Shanghai"),
        assets=warehouse_asset(),
    ),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=10),
    tags=["respond", "alarms"],
    default_args={"owner": sources.PLATFORM_OWNER, **queues.anywhere(), **queues.dag_default_args()},
)
def respond_to_alarms():
    @task(**STEP)
    def record_alarms() -> dict:
        """Record and route the published episodes of the look-back window (citysafety.act.respond)."""
        from dataclasses import asdict

        from citysafety.act import respond

        return asdict(respond.record_published())

    @task(**STEP)
    def escalate_alarms() -> int:
        """Escalate the alarms past their grade's time to acknowledge; how many."""
        from citysafety.act import respond

        return len(respond.escalate())

    @task(**STEP)
    def dispatch_notifications() -> dict:
        """Send the outbox's due messages (skipped, saying so, when no webhooks file is configured)."""
        from dataclasses import asdict

        from airflow.sdk.exceptions import AirflowSkipException

        from citysafety import config
        from citysafety.act import respond

        where = config.webhooks_file()
        if not where.exists():
            raise AirflowSkipException(f"未配置 webhooks 文件 {where}（CITYSAFETY_WEBHOOKS_FILE）：通知留在发件箱中，"
                                       "配置后发送 (no webhooks file: the messages wait in the outbox)")
        return asdict(respond.dispatch())

    record_alarms() >> escalate_alarms() >> dispatch_notifications()


respond_to_alarms()
