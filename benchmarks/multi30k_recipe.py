"""The Multi30k Transformer recipe shared by the benchmark scripts.

`transformer_multi30k.py` trains this model; `beam_bleu.py` and
`decoding_speed.py` rebuild it from the same options to load its weights.
Importable from any script in this directory (Python puts the script's
directory on `sys.path`).
"""

from keras_seq.models import TransformerSeq2Seq


def add_model_arguments(parser):
    """Adds the model-size options (defaults: the trained recipe)."""
    parser.add_argument("--hidden-dim", type=int, default=256)
    parser.add_argument("--num-layers", type=int, default=3)
    parser.add_argument("--num-heads", type=int, default=4)
    parser.add_argument("--intermediate-dim", type=int, default=512)
    parser.add_argument("--max-length", type=int, default=48)


def build_transformer(args, source_size, target_size, dropout=0.1):
    """A built `TransformerSeq2Seq` of the options in `args`."""
    model = TransformerSeq2Seq(
        source_vocabulary_size=source_size,
        target_vocabulary_size=target_size,
        hidden_dim=args.hidden_dim,
        num_layers=args.num_layers,
        num_heads=args.num_heads,
        intermediate_dim=args.intermediate_dim,
        dropout=dropout,
        max_source_length=args.max_length,
        max_target_length=args.max_length,
    )
    model.build()
    return model
