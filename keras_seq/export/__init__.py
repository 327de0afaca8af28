"""SavedModel exports for TF Serving (TensorFlow only, imported when used).

`Translator.export` calls `translator_export.export_translator`; the warm-up
records TF Serving replays at load time are written by `warmup`.
"""
