{{ config(materialized='table') }}
{%- set min_days = var('budget_verdict_min_days') %}

with usage as (
    select * from {{ ref('fct_llm_usage_daily') }}
),

budgets as (
    select * from {{ ref('budgets') }}
),

-- the newest date with any call: the month of a team without calls that day
-- still counts it as elapsed (the data is as of then, not as of the team's last call)
data_through as (
    select max(usage.usage_date) as as_of_date from usage
),

usage_months as (
    select
        usage.*,
        cast({{ dbt.date_trunc('month', 'usage.usage_date') }} as date) as budget_month
    from usage
),

spend_monthly as (
    select
        usage_months.budget_month,
        usage_months.team,
        sum(usage_months.cost_usd) as spend_mtd_usd,
        cast(sum(usage_months.calls) as bigint) as calls,
        cast(sum(usage_months.calls - usage_months.unpriced_calls) as bigint) as priced_calls,
        cast(sum(usage_months.unpriced_calls) as bigint) as unpriced_calls,
        cast(count(distinct usage_months.usage_date) as integer) as days_with_data
    from usage_months
    group by usage_months.budget_month, usage_months.team
),

-- a team × month with a budget or with calls (a team may spend without a budget)
month_keys as (
    select
        budgets.budget_month,
        budgets.team
    from budgets
    union
    select
        spend_monthly.budget_month,
        spend_monthly.team
    from spend_monthly
),

dated as (
    select
        month_keys.budget_month,
        month_keys.team,
        budgets.budget_usd,
        spend_monthly.spend_mtd_usd,
        coalesce(spend_monthly.calls, 0) as calls,
        coalesce(spend_monthly.priced_calls, 0) as priced_calls,
        coalesce(spend_monthly.unpriced_calls, 0) as unpriced_calls,
        coalesce(spend_monthly.days_with_data, 0) as days_with_data,
        cast({{ dbt.last_day('month_keys.budget_month', 'month') }} as date) as month_end_date,
        data_through.as_of_date as data_through_date
    from month_keys
    cross join data_through
    left join budgets
        on month_keys.budget_month = budgets.budget_month and month_keys.team = budgets.team
    left join spend_monthly
        on month_keys.budget_month = spend_monthly.budget_month and month_keys.team = spend_monthly.team
),

elapsed as (
    select
        dated.*,
        case
            when dated.data_through_date is null or dated.data_through_date < dated.budget_month then null
            when dated.data_through_date > dated.month_end_date then dated.month_end_date
            else dated.data_through_date
        end as as_of_date,
        cast({{ dbt.datediff('dated.budget_month', 'dated.month_end_date', 'day') }} + 1 as integer)
            as days_in_month
    from dated
),

forecast as (
    select
        elapsed.*,
        coalesce(
            cast({{ dbt.datediff('elapsed.budget_month', 'elapsed.as_of_date', 'day') }} + 1 as integer), 0
        ) as days_elapsed
    from elapsed
),

forecasted as (
    select
        forecast.budget_month,
        forecast.team,
        forecast.budget_usd,
        forecast.spend_mtd_usd,
        forecast.calls,
        forecast.priced_calls,
        forecast.unpriced_calls,
        forecast.days_with_data,
        forecast.as_of_date,
        forecast.days_elapsed,
        forecast.days_in_month,
        case
            when forecast.days_elapsed > 0 and forecast.spend_mtd_usd is not null
                then forecast.spend_mtd_usd / forecast.days_elapsed * forecast.days_in_month
        end as forecast_usd,
        cast({{ min_days }} as integer) as verdict_min_days,
        forecast.days_elapsed >= {{ min_days }} and forecast.days_with_data >= {{ min_days }}
            as has_enough_data
    from forecast
),

final as (
    select
        forecasted.*,
        case
            when forecasted.budget_usd is null then 'no budget'
            when not forecasted.has_enough_data or forecasted.forecast_usd is null then 'not enough data'
            when forecasted.forecast_usd > forecasted.budget_usd then 'over budget'
            else 'within budget'
        end as budget_verdict
    from forecasted
)

select * from final
