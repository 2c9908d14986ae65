"""The reader's own cell-reference arithmetic agrees with openpyxl's on every column Excel has."""
import pytest
from openpyxl.utils.cell import column_index_from_string, get_column_letter, range_boundaries

from relance.reading.grid import column_index, column_letter, range_bounds


def test_every_excel_column_matches_openpyxl():
    for index in range(1, 16385):
        letters = get_column_letter(index)
        assert column_letter(index) == letters
        assert column_index(letters) == index == column_index_from_string(letters)


@pytest.mark.parametrize("ref", ["A1:M100001", "B3:F120", "$B$3:$F$120", "XFD1048576", "AA10:AB11"])
def test_ranges_match_openpyxl(ref):
    assert range_bounds(ref) == range_boundaries(ref.replace("$", ""))


@pytest.mark.parametrize("ref", ["", "A:B", "1:2", "A1:B2:C3", "ABCD1"])
def test_bad_ranges_are_refused(ref):
    with pytest.raises(ValueError):
        range_bounds(ref)
