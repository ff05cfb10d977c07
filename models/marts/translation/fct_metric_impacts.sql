{#- a bad translation row stops the build here -#}
{% do modelmart.validate_metric_translations(ref('metric_translations')) %}
{%- set days = var('impact_period_days', 30) %}

with translations as (
    select * from {{ ref('metric_translations') }}
),

dashboard as (
    select * from {{ ref('fct_dashboard_daily') }}
),

usage as (
    select * from {{ ref('fct_llm_usage_daily') }}
),

quality as (
    select * from {{ ref('fct_model_quality_daily') }}
),

business as (
    select * from {{ ref('fct_business_daily') }}
),

newest as (
    select
        greatest(
            coalesce((select max(usage.usage_date) from usage), cast('1900-01-01' as date)),
            coalesce((select max(quality.prediction_date) from quality), cast('1900-01-01' as date))
        ) as period_end
),

periods as (
    select
        'current' as period,
        {{ modelmart.add_days('newest.period_end', -(days - 1)) }} as period_start,
        newest.period_end
    from newest
    union all
    select
        'previous' as period,
        {{ modelmart.add_days('newest.period_end', -(2 * days - 1)) }} as period_start,
        {{ modelmart.add_days('newest.period_end', -days) }} as period_end
    from newest
),

-- each metric per period, as the Overview defines it: pooled ratios, the worst
-- provider-day p95, sums of money
measured as (
    select
        periods.period,
        (
            select {{ modelmart.safe_divide('sum(quality.correct)', 'sum(quality.labeled)') }} from quality
            where quality.prediction_date between periods.period_start and periods.period_end
        ) as accuracy,
        (
            select max(dashboard.latency_p95_ms) from dashboard
            where dashboard.activity_date between periods.period_start and periods.period_end
        ) as latency_p95_ms,
        (
            select {{ modelmart.safe_divide('sum(usage.errors)', 'sum(usage.calls)') }} from usage
            where usage.usage_date between periods.period_start and periods.period_end
        ) as error_rate,
        (
            select sum(usage.cost_usd) from usage
            where usage.usage_date between periods.period_start and periods.period_end
        ) as llm_cost_usd,
        (
            select {{ modelmart.safe_divide('sum(business.agent_resolved_tickets)', 'sum(business.tickets)') }}
            from business
            where business.business_date between periods.period_start and periods.period_end
        ) as resolution_rate,
        (
            select sum(dashboard.revenue_usd) from dashboard
            where
                dashboard.activity_date between periods.period_start and periods.period_end
                and dashboard.provider <> '(none)'
        ) as revenue_from_ai,
        periods.period_start,
        periods.period_end
    from periods
),

unpivoted as (
    {%- for metric in ['accuracy', 'latency_p95_ms', 'error_rate', 'llm_cost_usd', 'resolution_rate', 'revenue_from_ai'] %}
        select
            '{{ metric }}' as metric,
            max(case when period = 'current' then {{ metric }} end) as current_value,
            max(case when period = 'previous' then {{ metric }} end) as previous_value
        from measured
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

bounds as (
    select
        max(case when period = 'current' then period_start end) as current_start,
        max(case when period = 'current' then period_end end) as current_end,
        max(case when period = 'previous' then period_start end) as previous_start
    from measured
),

translated as (
    select
        translations.technical_metric,
        translations.business_kpi,
        technical.current_value,
        technical.previous_value,
        technical.current_value - technical.previous_value as change,
        kpi.previous_value as kpi_previous_value,
        translations.per_change,
        translations.sensitivity_low,
        translations.sensitivity_high,
        translations.sensitivity_unit,
        translations.notes,
        translations.evidence_experiment,
        translations.business_kpi in ('revenue_from_ai', 'llm_spend_usd') as is_money,
        -- the KPI change for both ends of the sensitivity range, in KPI units
        (technical.current_value - technical.previous_value) / translations.per_change
        * translations.sensitivity_low
        * case when translations.sensitivity_unit = 'relative' then kpi.previous_value else 1 end as end_a,
        (technical.current_value - technical.previous_value) / translations.per_change
        * translations.sensitivity_high
        * case when translations.sensitivity_unit = 'relative' then kpi.previous_value else 1 end as end_b
    from translations
    inner join unpivoted as technical on translations.technical_metric = technical.metric
    left join unpivoted as kpi
        on
            kpi.metric = case
                when translations.business_kpi = 'llm_spend_usd' then 'llm_cost_usd'
                else translations.business_kpi
            end
),

ranged as (
    select
        *,
        least(end_a, end_b) as kpi_impact_low,
        greatest(end_a, end_b) as kpi_impact_high
    from translated
),

final as (
    select
        technical_metric,
        business_kpi,
        cast(current_value as double precision) as current_value,
        cast(previous_value as double precision) as previous_value,
        cast(change as double precision) as change,
        cast(kpi_previous_value as double precision) as kpi_previous_value,
        cast(per_change as double precision) as per_change,
        cast(sensitivity_low as double precision) as sensitivity_low,
        cast(sensitivity_high as double precision) as sensitivity_high,
        sensitivity_unit,
        cast(kpi_impact_low as double precision) as kpi_impact_low,
        cast(kpi_impact_high as double precision) as kpi_impact_high,
        is_money,
        cast(case when is_money then kpi_impact_low * 30.0 / {{ days }} end as double precision)
            as impact_usd_per_month_low,
        cast(case when is_money then kpi_impact_high * 30.0 / {{ days }} end as double precision)
            as impact_usd_per_month_high,
        cast(row_number() over (
            order by
                case when kpi_impact_low is null then 1 else 0 end asc,
                case when is_money then 0 else 1 end asc,
                greatest(abs(kpi_impact_low), abs(kpi_impact_high)) desc,
                technical_metric asc,
                business_kpi asc
        ) as integer) as impact_rank,
        notes,
        evidence_experiment,
        (select bounds.current_start from bounds) as current_start_date,
        (select bounds.current_end from bounds) as current_end_date,
        (select bounds.previous_start from bounds) as previous_start_date
    from ranged
)

select * from final
