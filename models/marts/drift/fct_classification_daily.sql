with confusion as (
    select * from {{ ref('fct_confusion_matrix_daily') }}
),

-- the classes of a day: every label that occurs as truth or as prediction
classes as (
    select
        prediction_date,
        model_name,
        model_version,
        true_label as class_label
    from confusion
    union
    select
        prediction_date,
        model_name,
        model_version,
        predicted_label
    from confusion
),

per_class as (
    select
        classes.prediction_date,
        classes.model_name,
        classes.model_version,
        classes.class_label,
        sum(case when confusion.true_label = classes.class_label and confusion.predicted_label = classes.class_label then confusion.predictions else 0 end) as true_positives,
        sum(case when confusion.true_label <> classes.class_label and confusion.predicted_label = classes.class_label then confusion.predictions else 0 end) as false_positives,
        sum(case when confusion.true_label = classes.class_label and confusion.predicted_label <> classes.class_label then confusion.predictions else 0 end) as false_negatives
    from classes
    inner join confusion
        on
            classes.prediction_date = confusion.prediction_date
            and classes.model_name = confusion.model_name
            and classes.model_version = confusion.model_version
    group by classes.prediction_date, classes.model_name, classes.model_version, classes.class_label
),

-- an undefined ratio (0 / 0) counts as 0, as scikit-learn's zero_division=0
scored as (
    select
        *,
        coalesce({{ modelmart.safe_divide('true_positives', 'true_positives + false_positives') }}, 0) as class_precision,
        coalesce({{ modelmart.safe_divide('true_positives', 'true_positives + false_negatives') }}, 0) as class_recall
    from per_class
),

final as (
    select
        prediction_date,
        model_name,
        model_version,
        {{ modelmart.model_version_key('model_name', 'model_version') }} as model_version_key,
        cast(count(*) as integer) as classes,
        cast(sum(true_positives) as bigint) as correct,
        avg(class_precision) as macro_precision,
        avg(class_recall) as macro_recall,
        avg(coalesce({{ modelmart.safe_divide('2 * class_precision * class_recall', 'class_precision + class_recall') }}, 0)) as macro_f1
    from scored
    group by prediction_date, model_name, model_version
)

select * from final
