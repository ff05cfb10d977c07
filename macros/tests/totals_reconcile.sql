{#- Per date, the sum of column_name over all rows of the model must equal the
    sum of compare_column in compare_model for the same date (within tolerance).
    A date present on one side only compares against 0. -#}
{% test totals_reconcile(model, column_name, date_column, compare_model, compare_column, compare_date_column, tolerance=0.000001) %}
with ours as (
    select {{ date_column }} as total_date, sum({{ column_name }}) as total
    from {{ model }}
    group by {{ date_column }}
),

theirs as (
    select {{ compare_date_column }} as total_date, sum({{ compare_column }}) as total
    from {{ compare_model }}
    group by {{ compare_date_column }}
),

compared as (
    select
        coalesce(ours.total_date, theirs.total_date) as total_date,
        coalesce(ours.total, 0) as our_total,
        coalesce(theirs.total, 0) as their_total
    from ours
    full outer join theirs on ours.total_date = theirs.total_date
)

select * from compared
where abs(our_total - their_total) > {{ tolerance }}
{% endtest %}
