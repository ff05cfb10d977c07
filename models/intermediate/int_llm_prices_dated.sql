with prices as (
    select * from {{ ref('llm_pricing') }}
),

dated as (
    select
        provider,
        model,
        cast(effective_from as timestamp) as effective_from_at,
        lead(cast(effective_from as timestamp)) over (
            partition by provider, model order by effective_from
        ) as effective_to_at,
        input_usd_per_mtok,
        output_usd_per_mtok,
        coalesce(cached_input_usd_per_mtok, input_usd_per_mtok) as cached_input_usd_per_mtok
    from prices
)

select * from dated
