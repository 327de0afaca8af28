"""After a killed run: executions left RUNNING in ML Metadata are marked
CANCELED and their unpublished output folders removed; finished outputs are
kept. One run at a time per output folder."""

import os

import pytest

from keras_seq_pipelines import local_runner


def store_with_a_killed_trainer(tmp_path):
    import ml_metadata as mlmd
    from ml_metadata.proto import metadata_store_pb2 as pb

    path = str(tmp_path / "metadata.sqlite")
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = 3  # READWRITE_OPENCREATE
    store = mlmd.MetadataStore(config)
    node_type = store.put_context_type(pb.ContextType(name="node"))
    exec_type = store.put_execution_type(pb.ExecutionType(name="Trainer"))
    model_type = store.put_artifact_type(pb.ArtifactType(name="Model"))
    context = pb.Context(type_id=node_type, name="keras-seq.Trainer")
    [context.id] = store.put_contexts([context])
    root = tmp_path / "tfx"
    done = pb.Execution(
        type_id=exec_type, last_known_state=pb.Execution.COMPLETE
    )
    killed = pb.Execution(
        type_id=exec_type, last_known_state=pb.Execution.RUNNING
    )
    done_id, _, _ = store.put_execution(done, [], [context])
    killed_id, _, _ = store.put_execution(killed, [], [context])
    published = root / "Trainer" / "model" / str(done_id)
    os.makedirs(published)
    (published / "saved_model.pb").write_text("x")
    store.put_artifacts(
        [
            pb.Artifact(
                type_id=model_type, uri=str(published), state=pb.Artifact.LIVE
            )
        ]
    )
    for output in ("model", "model_run"):
        os.makedirs(root / "Trainer" / output / str(killed_id))
    return path, str(root), store, killed_id, published


def test_recover_marks_killed_executions_and_removes_their_folders(tmp_path):
    from ml_metadata.proto import metadata_store_pb2 as pb

    path, root, store, killed_id, published = store_with_a_killed_trainer(
        tmp_path
    )
    recovered = local_runner.recover_interrupted_runs(path, root)
    assert [(c, i, len(r)) for c, i, r in recovered] == [
        ("Trainer", killed_id, 2)
    ]
    [execution] = store.get_executions_by_id([killed_id])
    assert execution.last_known_state == pb.Execution.CANCELED
    assert not os.path.exists(
        os.path.join(root, "Trainer", "model", str(killed_id))
    )
    assert (published / "saved_model.pb").exists()
    assert local_runner.recover_interrupted_runs(path, root) == []


def test_one_run_per_output_folder(tmp_path):
    with local_runner.run_lock(str(tmp_path)):
        with pytest.raises(ValueError, match="Another `pipeline run`"):
            with local_runner.run_lock(str(tmp_path)):
                pass
    with local_runner.run_lock(str(tmp_path)):  # released
        pass
