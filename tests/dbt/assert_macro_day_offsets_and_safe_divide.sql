-- day_offsets(0, 6) yields exactly 0..6; safe_divide is NULL on a zero denominator
with offsets as (
    {{ modelmart.day_offsets(0, 6) }}
),

summary as (
    select
        count(*) as n,
        min(offset_days) as lo,
        max(offset_days) as hi,
        sum(offset_days) as total,
        {{ modelmart.safe_divide(1, 4) }} as quarter,
        {{ modelmart.safe_divide(1, 0) }} as undefined
    from offsets
)

select * from summary
where
    n <> 7 or lo <> 0 or hi <> 6 or total <> 21
    or quarter <> 0.25 or undefined is not null
