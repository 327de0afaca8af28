"""Reserved tokens shared by every vocabulary built by `keras_seq.text`.

The ids are part of the design contract (docs/design.md): padding is derived
from `ids != PAD_ID` everywhere in keras-seq, decoders start from `BOS_ID`
and stop at `EOS_ID`.
"""

PAD = "[PAD]"
UNK = "[UNK]"
BOS = "[BOS]"
EOS = "[EOS]"

PAD_ID = 0
UNK_ID = 1
BOS_ID = 2
EOS_ID = 3

# In id order: RESERVED_TOKENS[i] has id i.
RESERVED_TOKENS = [PAD, UNK, BOS, EOS]
