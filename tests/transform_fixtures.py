"""tf.Transform run in-process on `(source, target)` pairs, for the tests
of the Trainer and of the serving export."""

import functools
import os

import tensorflow as tf

from keras_seq_pipelines import configs
from keras_seq_pipelines import preprocessing

RAW_FEATURE_SPEC = {
    configs.SOURCE_KEY: tf.io.VarLenFeature(tf.string),
    configs.TARGET_KEY: tf.io.VarLenFeature(tf.string),
}


def run_transform(pairs, dataset_config, output_dir):
    """tf.Transform over `(source, target)` pairs.

    Returns:
        `(tft.TFTransformOutput, list of transformed feature dicts)`.
    """
    import tensorflow_transform as tft
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import dataset_metadata
    from tensorflow_transform.tf_metadata import metadata_io
    from tensorflow_transform.tf_metadata import schema_utils

    metadata = dataset_metadata.DatasetMetadata(
        schema_utils.schema_from_feature_spec(RAW_FEATURE_SPEC)
    )
    raw = [
        {
            configs.SOURCE_KEY: [s.encode("utf-8")],
            configs.TARGET_KEY: [t.encode("utf-8")],
        }
        for s, t in pairs
    ]
    fn = functools.partial(
        preprocessing.preprocessing_fn, custom_config=dataset_config.to_dict()
    )
    transform_dir = os.path.join(output_dir, "transform")
    with tft_beam.Context(
        temp_dir=os.path.join(output_dir, "tmp"), force_tf_compat_v1=False
    ):
        (transformed, _), transform_fn = (
            raw,
            metadata,
        ) | tft_beam.AnalyzeAndTransformDataset(fn)
        _ = transform_fn | tft_beam.WriteTransformFn(transform_dir)
    # TFX's Transform also records the raw schema, which the export reads.
    metadata_io.write_metadata(
        metadata,
        os.path.join(transform_dir, tft.TFTransformOutput.RAW_METADATA_DIR),
    )
    return tft.TFTransformOutput(transform_dir), transformed
