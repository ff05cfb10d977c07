-- add_days keeps a date a date, forwards and backwards, across a month end
with cases as (
    select
        {{ modelmart.add_days("cast('2026-02-27' as date)", 2) }} as forward_result,
        {{ modelmart.add_days("cast('2026-03-01' as date)", -6) }} as backward_result
)

select * from cases
where
    forward_result <> cast('2026-03-01' as date)
    or backward_result <> cast('2026-02-23' as date)
