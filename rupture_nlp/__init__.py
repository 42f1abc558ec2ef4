"""rupture-nlp: code alliance-rupture markers and resolution stages in therapy transcripts.

The package reads transcripts in the formats researchers have (`rupture_nlp.io`), turns
them into speaker turns (`rupture_nlp.segment`), codes every turn against the codebook
(`rupture_nlp.labels`) and reports rupture episodes against the stage model.
"""

from rupture_nlp.errors import TranscriptError
from rupture_nlp.types import Coding, Cue, Session, Turn

__all__ = ["Coding", "Cue", "Session", "TranscriptError", "Turn"]
__version__ = "0.1.0"
