with calls as (
    select * from {{ ref('stg_landing__llm_calls') }}
),

prices as (
    select * from {{ ref('int_llm_prices_dated') }}
),

matched as (
    select
        calls.*,
        prices.effective_from_at as price_effective_from_at,
        prices.provider is not null as is_priced,
        case
            when prices.provider is not null
                then (
                    (calls.tokens_input - calls.tokens_cached_input) * prices.input_usd_per_mtok
                    + calls.tokens_cached_input * prices.cached_input_usd_per_mtok
                    + calls.tokens_output * prices.output_usd_per_mtok
                ) / 1000000.0
        end as cost_usd
    from calls
    left join prices
        on
            calls.provider = prices.provider
            and calls.model = prices.model
            and calls.created_at >= prices.effective_from_at
            and (prices.effective_to_at is null or calls.created_at < prices.effective_to_at)
)

select * from matched
