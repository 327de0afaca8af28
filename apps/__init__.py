"""keras-seq applications: the `keras-seq` command line and the date demo.

Installed as `keras_seq_apps`. Applications may import everything (the
library, the pipeline, the serving side); nothing imports them.
"""
