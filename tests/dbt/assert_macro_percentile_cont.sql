-- linear interpolation like numpy.percentile: values 1..5 → p95 = 4.8, p50 = 3
with numbers as (
    {{ modelmart.day_offsets(1, 5) }}
),

computed as (
    select
        {{ modelmart.percentile_cont('offset_days', 0.95) }} as p95,
        {{ modelmart.percentile_cont('offset_days', 0.5) }} as p50
    from numbers
)

select * from computed
where abs(p95 - 4.8) > 1e-12 or abs(p50 - 3) > 1e-12
