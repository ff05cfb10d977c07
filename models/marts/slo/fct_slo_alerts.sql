with status as (
    select * from {{ ref('fct_slo_status') }}
),

-- one row per SLO × alerting hour × action: page (critical) or ticket (warning)
{%- set actions = [] %}
{%- for entry in modelmart.slo_burn_alerts() if entry['action'] not in actions %}{% do actions.append(entry['action']) %}{% endfor %}
alerting as (
    {%- for action in actions %}
        {%- set entries = modelmart.slo_burn_alerts() | selectattr('action', 'equalto', action) | list %}
        {%- set first = entries[0] %}
        select
            status.slo_id,
            '{{ action }}' as alert_action,
            '{{ first["severity"] }}' as severity,
            'burn_rate_{{ modelmart.burn_window_name(first["long_hours"]) }}' as metric,
            cast({{ first['factor'] }} as double precision) as threshold,
            status.provider,
            status.model,
            status.team,
            status.model_name,
            status.model_version,
            status.status_hour,
            status.burn_rate_{{ modelmart.burn_window_name(first["long_hours"]) }} as metric_value
        from status
        where status.is_{{ action }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

latest as (
    select
        slo_id,
        max(status_hour) as latest_hour
    from status
    group by slo_id
),

-- consecutive alerting hours form one run (gaps and islands over the hour index)
islands as (
    select
        alerting.*,
        {{ dbt.datediff("cast('2000-01-01 00:00:00' as timestamp)", 'alerting.status_hour', 'hour') }}
        - row_number() over (partition by alerting.slo_id, alerting.alert_action order by alerting.status_hour) as run_anchor
    from alerting
),

runs as (
    select
        slo_id,
        alert_action,
        run_anchor,
        min(severity) as severity,
        min(metric) as metric,
        min(threshold) as threshold,
        min(provider) as provider,
        min(model) as model,
        min(team) as team,
        min(model_name) as model_name,
        min(model_version) as model_version,
        min(status_hour) as first_hour,
        max(status_hour) as last_hour,
        max(metric_value) as worst_value
    from islands
    group by slo_id, alert_action, run_anchor
),

-- a run is over when a later hour evaluates its condition and finds it false (the
-- long window's burn rate has a value and does not burn): hours without a value
-- after the run are no_data, never a recovery (as for the threshold alerts)
recoveries as (
    select
        runs.slo_id,
        runs.alert_action,
        runs.run_anchor,
        min(status.status_hour) as resolved_hour
    from runs
    inner join status
        on
            runs.slo_id = status.slo_id
            and runs.last_hour < status.status_hour
    where
        {%- for action in actions %}
            {%- set first = (modelmart.slo_burn_alerts() | selectattr('action', 'equalto', action) | list)[0] %}
            (
                runs.alert_action = '{{ action }}'
                and not status.is_{{ action }}
                and status.burn_rate_{{ modelmart.burn_window_name(first["long_hours"]) }} is not null
            )
            {%- if not loop.last %} or{% endif %}
        {%- endfor %}
    group by runs.slo_id, runs.alert_action, runs.run_anchor
),

sequenced as (
    select
        runs.*,
        recoveries.resolved_hour,
        lag(runs.first_hour) over (
            partition by runs.slo_id, runs.alert_action order by runs.first_hour
        ) as previous_first_hour,
        lag(runs.last_hour) over (
            partition by runs.slo_id, runs.alert_action order by runs.first_hour
        ) as previous_last_hour
    from runs
    left join recoveries
        on
            runs.slo_id = recoveries.slo_id
            and runs.alert_action = recoveries.alert_action
            and runs.run_anchor = recoveries.run_anchor
),

final as (
    select
        concat_ws(':', 'slo', runs.slo_id, runs.alert_action, cast(runs.first_hour as varchar)) as alert_id,
        concat_ws(':', 'slo', runs.slo_id, runs.alert_action) as rule_id,
        runs.severity,
        'fct_slo_status' as mart,
        runs.metric,
        '>' as comparator,
        runs.threshold,
        cast(1 as integer) as consecutive_periods,
        runs.slo_id as series,
        runs.provider,
        runs.model,
        runs.team,
        runs.model_name,
        runs.model_version,
        cast(runs.first_hour as date) as first_seen_date,
        cast(runs.last_hour as date) as last_seen_date,
        cast({{ dbt.datediff('cast(runs.first_hour as date)', 'cast(runs.last_hour as date)', 'day') }} + 1 as integer) as breach_days,
        last_hour_status.metric_value as last_value,
        runs.worst_value,
        runs.last_hour = latest.latest_hour as is_active,
        case
            when runs.last_hour = latest.latest_hour then 'active'
            when runs.resolved_hour is not null then 'resolved'
            else 'no_data'
        end as status,
        cast(runs.resolved_hour as date) as resolved_date,
        cast(latest.latest_hour as date) as latest_date,
        case
            when runs.previous_first_hour is not null
                then concat_ws(':', 'slo', runs.slo_id, runs.alert_action, cast(runs.previous_first_hour as varchar))
        end as previous_alert_id,
        coalesce(
            cast(runs.previous_last_hour as date)
            >= {{ modelmart.add_days('cast(runs.first_hour as date)', -var('alert_flap_window_days')) }},
            false
        ) as is_flapping
    from sequenced as runs
    inner join latest on runs.slo_id = latest.slo_id
    inner join islands as last_hour_status
        on
            runs.slo_id = last_hour_status.slo_id
            and runs.alert_action = last_hour_status.alert_action
            and runs.last_hour = last_hour_status.status_hour
)

select * from final
