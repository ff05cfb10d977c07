select
    predicted_date as prediction_date,
    model_name,
    model_version,
    true_label,
    predicted_label,
    cast(count(*) as bigint) as predictions
from {{ ref('int_predictions_labeled') }}
where is_labeled
group by predicted_date, model_name, model_version, true_label, predicted_label
