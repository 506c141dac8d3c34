"""Annotations in standard formats: Label Studio JSON, RTTM, STM, WebVTT, SRT and JSONL.

Each format has an export (nouns to text) and an import (text to nouns); pure functions
over ``cintel.annotation``'s nouns, with no store. Malformed input raises
``BadInputError`` whose message names the source (the ``source`` argument: a file name),
the line, the problem and what to do about it.

==============  ======================================  ===================================
format          export                                  import
==============  ======================================  ===================================
Label Studio    ``to_label_studio(tasks, annotations,   ``from_label_studio(text, schema,
                schema)``                               project_id=, tenant=)``
RTTM            ``to_rttm(file_id, result)``,           ``from_rttm(lines)``,
                ``rttm_lines`` (streams)                ``read_rttm`` (streams)
STM             ``to_stm(file_id, result)``,            ``from_stm(lines)``,
                ``stm_lines`` (streams)                 ``read_stm`` (streams)
WebVTT, SRT     ``to_webvtt(result)``,                  ``from_webvtt(text)``,
                ``to_srt(result)``                      ``from_srt(text)``
JSONL           ``to_jsonl(annotations, tasks)``,       ``from_jsonl(lines)``,
                ``jsonl_lines`` (streams)               ``read_jsonl`` (streams)
==============  ======================================  ===================================

Times are written to the millisecond in RTTM, STM and subtitles (so a round trip is exact
at the millisecond) and as given in JSON. RTTM and STM separate fields by whitespace, so
file ids and speakers are written with ``encode_token``: a space becomes ``_``, and
``%``, ``_``, ``<``, ``>``, ``;``, other whitespace and control characters become
``%XX`` (UTF-8 bytes in hex); ``decode_token`` reverses it (``Jane Doe`` is ``Jane_Doe``,
``S_1`` is ``S%5F1``). What each format cannot carry is said in its module.
"""

from __future__ import annotations

from cintel.annotate.formats._common import decode_token, encode_token, utterances
from cintel.annotate.formats.jsonl import (
    JsonlRecord,
    from_jsonl,
    jsonl_lines,
    jsonl_record,
    read_jsonl,
    to_jsonl,
)
from cintel.annotate.formats.label_studio import (
    default_media_url,
    from_label_studio,
    label_studio_tasks,
    result_items,
    to_label_studio,
)
from cintel.annotate.formats.rttm import from_rttm, read_rttm, rttm_lines, rttm_turns, to_rttm
from cintel.annotate.formats.stm import from_stm, read_stm, stm_lines, to_stm
from cintel.annotate.formats.subtitles import from_srt, from_webvtt, to_srt, to_webvtt

__all__ = [
    "JsonlRecord",
    "decode_token",
    "default_media_url",
    "encode_token",
    "from_jsonl",
    "from_label_studio",
    "from_rttm",
    "from_srt",
    "from_stm",
    "from_webvtt",
    "jsonl_lines",
    "jsonl_record",
    "label_studio_tasks",
    "read_jsonl",
    "read_rttm",
    "read_stm",
    "result_items",
    "rttm_lines",
    "rttm_turns",
    "stm_lines",
    "to_jsonl",
    "to_label_studio",
    "to_rttm",
    "to_srt",
    "to_stm",
    "to_webvtt",
    "utterances",
]
