"""An id the vendor listed that cannot be sent back in a path (a control character, a slash) fails the listing
with a DecodingError (the answer is at fault), not a ValidationError blaming the caller's arguments."""

from __future__ import annotations

import copy

import pytest

from backupbridge import DecodingError, ValidationError

from .test_decoders_property import ROWS, listing, outcome


@pytest.mark.parametrize("hid", ["\x1b", ".", ".."])
def test_a_managed_backup_computer_id_that_cannot_be_a_path_segment_is_a_decoding_error(hid: str) -> None:
    row = copy.deepcopy(ROWS["managedbackup"])
    row["ComputerHID"] = hid
    result = outcome(listing("managedbackup", [row]), "list_plans")
    assert isinstance(result, DecodingError) and not isinstance(result, ValidationError), result
    assert "ComputerHID" in str(result)
