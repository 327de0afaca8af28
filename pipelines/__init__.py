"""TFX pipeline for keras-seq (imports TFX; keras_seq never imports this)."""
