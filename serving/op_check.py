"""Checks that a SavedModel only uses ops a stock TF Serving build has.

TF Serving 2.16 links core TensorFlow plus the TF Text ops of the 2023 TF
Text release it is built with; an op outside both makes the model fail to
load on the server ("Op type not registered"). The check lists every op of
the SavedModel (each MetaGraph's `graph_def` nodes and every function of its
library) and accepts an op if

- it is registered in core TensorFlow, looked up in the op registry of a
  process that has NOT imported tensorflow_text (so TF Text ops are not
  registered by accident), or
- it is in `TF_TEXT_SERVING_OPS`, TF Text ops of the 2023 releases.

Run it as a script so the registry stays clean:

    python -m keras_seq_serving.op_check path/to/saved_model

Exit status 0 when every op is supported, 1 otherwise (the unsupported ops
are printed).
"""

import os
import sys

# TF Text op names accepted. Read from the op libraries of the installed
# tensorflow-text 2.16.1 (`tensorflow_text/python/ops/_*.so`), keeping only
# ops that already existed in the 2023 releases (2.12/2.13) that TF Serving
# 2.16 links; newer additions are left out on purpose. Several ops carry the
# "TFText>" prefix of the TF Lite shim ops. Linked because TF Serving's
# tensorflow_serving/model_servers/BUILD puts
# "@org_tensorflow_text//tensorflow_text:ops_lib" in
# SUPPORTED_TENSORFLOW_OPS, and tensorflow_text/BUILD's `ops_lib` depends on
# the kernels of each family below (sentencepiece_tokenizer_cc,
# regex_split_ops_cc, normalize_ops_cc, unicode_script_tokenizer_cc,
# whitespace_tokenizer(_v2)_cc, wordpiece/fast_wordpiece_tokenizer_cc, ...).
TF_TEXT_SERVING_OPS = frozenset(
    {
        "CaseFoldUTF8",
        "ConstrainedSequence",
        "FastBertNormalize",
        "FastWordpieceTokenizeWithOffsets",
        "FindSourceOffsets",
        "MaxSpanningTree",
        "NormalizeUTF8",
        "NormalizeUTF8WithOffsetsMap",
        "RegexSplitWithOffsets",
        "SentenceFragments",
        "SentencepieceDetokenizeOp",
        "SentencepieceIdToStringOp",
        "SentencepieceOp",
        "SentencepieceStringToIdOp",
        "SentencepieceTokenizeOp",
        "SentencepieceTokenizeWithOffsetsOp",
        "SentencepieceVocabSizeOp",
        "SplitMergeTokenizeWithOffsets",
        "TFText>BoiseTagsToOffsets",
        "TFText>ByteSplitByOffsets",
        "TFText>ByteSplitWithOffsets",
        "TFText>FastSentencepieceDetokenize",
        "TFText>FastSentencepieceTokenize",
        "TFText>FastWordpieceDetokenize",
        "TFText>NgramsStringJoin",
        "TFText>OffsetsToBoiseTags",
        "TFText>WhitespaceTokenizeWithOffsetsV2",
        "TokenizerFromLogits",
        "UnicodeScriptTokenizeWithOffsets",
        "WhitespaceTokenizeWithOffsets",
        "WordpieceTokenizeWithOffsets",
    }
)


def _load_saved_model_proto(saved_model_dir):
    from tensorflow.core.protobuf import saved_model_pb2

    path = os.path.join(saved_model_dir, "saved_model.pb")
    if not os.path.exists(path):
        raise ValueError(
            "No saved_model.pb in the folder. "
            f"Received: saved_model_dir={saved_model_dir!r}"
        )
    proto = saved_model_pb2.SavedModel()
    with open(path, "rb") as f:
        proto.ParseFromString(f.read())
    return proto


def list_ops(saved_model_dir):
    """Sorted op names used by a SavedModel (graph and function library)."""
    proto = _load_saved_model_proto(saved_model_dir)
    ops = set()
    for meta_graph in proto.meta_graphs:
        graph = meta_graph.graph_def
        ops.update(node.op for node in graph.node)
        for function in graph.library.function:
            ops.update(node.op for node in function.node_def)
    # Calls of library functions appear as ops named after the function.
    functions = {
        function.signature.name
        for meta_graph in proto.meta_graphs
        for function in meta_graph.graph_def.library.function
    }
    return sorted(ops - functions)


def is_core_op(op_name):
    """Whether core TensorFlow registers `op_name` in this process."""
    from tensorflow.python.framework import op_def_registry

    return op_def_registry.get(op_name) is not None


def unsupported_ops(saved_model_dir):
    """Ops of the SavedModel that stock TF Serving 2.16 would not know.

    Must run in a process that has not imported tensorflow_text (see the
    module docstring); raises `RuntimeError` otherwise.
    """
    if "tensorflow_text" in sys.modules:
        raise RuntimeError(
            "tensorflow_text is imported in this process, so its ops look "
            "like core ops. Run `python -m keras_seq_serving.op_check` instead."
        )
    return [
        op
        for op in list_ops(saved_model_dir)
        if not is_core_op(op) and op not in TF_TEXT_SERVING_OPS
    ]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m keras_seq_serving.op_check SAVED_MODEL_DIR")
        return 2
    ops = list_ops(argv[0])
    bad = unsupported_ops(argv[0])
    text_ops = sorted(op for op in ops if op in TF_TEXT_SERVING_OPS)
    print(f"{len(ops)} ops; TF Text ops: {', '.join(text_ops) or 'none'}")
    if bad:
        print("NOT supported by stock TF Serving 2.16: " + ", ".join(bad))
        return 1
    print("All ops are supported by stock TF Serving 2.16.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
