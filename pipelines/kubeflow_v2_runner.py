"""Compiles the pipeline for Kubeflow Pipelines V2 (Vertex AI Pipelines).

`KubeflowV2DagRunner` writes the pipeline as a JSON PipelineSpec; nothing is
submitted and no cluster is contacted, so this runs offline. Submit the file
with the KFP client or Vertex AI (`aiplatform.PipelineJob`).

Every path must be readable from the containers (e.g. `gs://...`), and the
image must contain keras-seq (`pip install keras-seq[pipeline]`) so the
module files and the BleuEvaluator executor import; the module files are
referenced at their path inside that image (`--module-root`).

    python -m keras_seq_pipelines.kubeflow_v2_runner \\
        --output-file pipeline.json \\
        --pipeline-root gs://b/root --data-dir gs://b/data \\
        --serving-model-dir gs://b/serving/translator --image IMAGE
"""

import argparse
import os
import sys

from keras_seq_pipelines import configs
from keras_seq_pipelines import pipeline


def compile_pipeline(
    output_file,
    pipeline_root,
    data_dir,
    serving_model_dir,
    image,
    dataset_config=None,
    model_config=None,
    pipeline_name="keras-seq",
    model_name="translator",
    beam_pipeline_args=("--runner=DirectRunner",),
):
    """Writes the Kubeflow V2 JSON spec; returns its path.

    The Transform and Trainer functions are referenced by dotted name
    (`keras_seq_pipelines.preprocessing.preprocessing_fn`,
    `keras_seq_pipelines.trainer.run_fn`),
    so nothing is uploaded to `pipeline_root` at compile time.
    """
    from tfx import v1 as tfx

    if not image:
        raise ValueError(
            f"`image` must be a container image. Received: image={image!r}"
        )
    tfx_pipeline = pipeline.create_pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        data_dir=data_dir,
        serving_model_dir=serving_model_dir,
        dataset_config=dataset_config,
        model_config=model_config,
        model_name=model_name,
        metadata_connection_config=None,
        beam_pipeline_args=list(beam_pipeline_args),
        use_installed_modules=True,
    )
    output_dir = os.path.dirname(os.path.abspath(output_file))
    os.makedirs(output_dir, exist_ok=True)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=image
        ),
        output_dir=output_dir,
        output_filename=os.path.basename(output_file),
    )
    runner.run(tfx_pipeline, write_out=True)
    return os.path.join(output_dir, os.path.basename(output_file))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", choices=sorted(configs.PRESETS), default="dates"
    )
    parser.add_argument("--output-file", required=True)
    parser.add_argument("--pipeline-root", required=True)
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--serving-model-dir", required=True)
    parser.add_argument("--image", required=True)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    dataset_config, model_config = configs.preset(args.dataset)
    print(
        compile_pipeline(
            args.output_file,
            args.pipeline_root,
            args.data_dir,
            args.serving_model_dir,
            args.image,
            dataset_config,
            model_config,
        )
    )


if __name__ == "__main__":
    main()
