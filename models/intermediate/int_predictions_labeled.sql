with predictions as (
    select * from {{ ref('stg_landing__predictions') }}
),

labels as (
    select * from {{ ref('stg_landing__labels') }}
),

joined as (
    select
        predictions.*,
        labels.label as true_label,
        labels.labeled_at,
        labels.batch_seq as label_batch_seq,
        labels.label is not null as is_labeled,
        coalesce(labels.label = predictions.predicted_label, false) as is_correct
    from predictions
    left join labels on predictions.prediction_id = labels.target_event_id
)

select * from joined
