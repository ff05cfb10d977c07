-- the fingerprint ignores row order and changes when any value changes
with a as (
    select
        'x' as k,
        1 as v
    union all
    select
        'y' as k,
        2 as v
),

b as (
    select
        'y' as k,
        2 as v
    union all
    select
        'x' as k,
        1 as v
),

c as (
    select
        'x' as k,
        1 as v
    union all
    select
        'y' as k,
        3 as v
),

digests as (
    select
        {{ modelmart.table_fingerprint('a', ['k', 'v']) }} as fp_a,
        {{ modelmart.table_fingerprint('b', ['k', 'v']) }} as fp_b,
        {{ modelmart.table_fingerprint('c', ['k', 'v']) }} as fp_c
)

select * from digests
where fp_a <> fp_b or fp_a = fp_c or fp_a is null
