"""Forget specs: parsing, resolution to indices, and a typed error for every malformed case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from obliviate.core.errors import InvalidForgetSpecError, InvalidRequestError
from obliviate.data.forget import (
    ForgetSpec,
    check_indices,
    parse_forget_spec,
    select_classification_forget,
)

LABELS = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])  # ten examples, classes 0-2


@pytest.mark.parametrize(
    "text, kind, value",
    [
        ("random:0.1", "random", 0.1),
        (" class : 3 ", "class", (3,)),
        ("client:0,2", "client", (0, 2)),
        ("ids:forget.txt", "ids", Path("forget.txt")),
        ("facts:forget01", "facts", "forget01"),
        ("edges:0.05", "edges", 0.05),
    ],
)
def test_well_formed_specs_parse_to_typed_values(text, kind, value):
    spec = parse_forget_spec(text)
    assert spec == ForgetSpec(kind, value)
    assert parse_forget_spec(str(spec)) == spec  # str() round-trips


@pytest.mark.parametrize(
    "text, message",
    [
        ("class3", "not of the form 'kind:argument'"),
        ("", "not of the form"),
        ("colour:3", "unknown forget kind 'colour'"),
        ("random:", "has no argument"),
        ("random:0", "strictly between 0 and 1"),
        ("random:1", "strictly between 0 and 1"),
        ("random:-0.1", "strictly between 0 and 1"),
        ("random:nan", "strictly between 0 and 1"),
        ("random:abc", "takes a fraction in \\(0, 1\\)"),
        ("class:three", "comma-separated integers"),
        ("class:1,,2", "comma-separated integers"),
        ("class:-1", "non-negative"),
        ("class:1,1", "lists a value twice"),
    ],
)
def test_every_malformed_spec_string_raises_invalid_forget_spec_error(text, message):
    with pytest.raises(InvalidForgetSpecError, match=message):
        parse_forget_spec(text)


def test_forget_spec_errors_are_request_errors_and_value_errors():
    with pytest.raises(InvalidRequestError):
        parse_forget_spec("nonsense")
    with pytest.raises(ValueError):
        parse_forget_spec("nonsense")


def test_a_kind_the_task_does_not_support_is_refused_naming_the_allowed_ones():
    with pytest.raises(InvalidForgetSpecError, match="'edges' is not supported here; use one of: class, random"):
        parse_forget_spec("edges:0.1", allowed={"random", "class"})
    with pytest.raises(InvalidForgetSpecError, match="not supported"):
        parse_forget_spec(ForgetSpec("edges", 0.1), allowed={"random"})


def test_random_selects_the_rounded_fraction_reproducibly():
    first = select_classification_forget(parse_forget_spec("random:0.3"), LABELS, seed=0)
    assert len(first) == 3 and np.all(np.diff(first) > 0)
    assert np.array_equal(first, select_classification_forget(parse_forget_spec("random:0.3"), LABELS, seed=0))


def test_class_selects_every_example_of_the_listed_classes():
    chosen = select_classification_forget(parse_forget_spec("class:1,2"), LABELS, seed=0)
    assert chosen.tolist() == [1, 2, 4, 5, 7, 8]


def test_absent_class_is_refused_naming_the_classes_present():
    with pytest.raises(InvalidForgetSpecError, match=r"class \[7\] is absent.*classes present: \[0, 1, 2\]"):
        select_classification_forget(parse_forget_spec("class:7"), LABELS, seed=0)


def test_forgetting_every_class_is_refused_as_the_whole_training_set():
    with pytest.raises(InvalidForgetSpecError, match="whole training set"):
        select_classification_forget(parse_forget_spec("class:0,1,2"), LABELS, seed=0)


def test_a_fraction_that_rounds_to_everything_is_refused():
    with pytest.raises(InvalidForgetSpecError, match="whole training set"):
        select_classification_forget(parse_forget_spec("random:0.99"), LABELS, seed=0)


def write_ids(tmp_path: Path, text: str) -> ForgetSpec:
    path = tmp_path / "ids.txt"
    path.write_text(text)
    return parse_forget_spec(f"ids:{path}")


def test_ids_file_with_comments_and_blank_lines_is_read(tmp_path):
    spec = write_ids(tmp_path, "# forget these\n7\n\n2  # a comment\n5\n")
    assert select_classification_forget(spec, LABELS, seed=0).tolist() == [2, 5, 7]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "forget set is empty"),
        ("# only a comment\n\n", "forget set is empty"),
        ("3\n10\n", r"out of range: the training set has ids 0..9"),
        ("-1\n", "out of range"),
        ("3\n4\n3\n", r"duplicated: \[3\]"),
        ("1\nx\n", "line 2: 'x' is not an integer"),
        ("1.5\n", "not an integer"),
        ("\n".join(str(i) for i in range(10)), "whole training set"),
    ],
)
def test_every_malformed_ids_file_raises_invalid_forget_spec_error(tmp_path, text, message):
    with pytest.raises(InvalidForgetSpecError, match=message):
        select_classification_forget(write_ids(tmp_path, text), LABELS, seed=0)


def test_missing_or_binary_ids_file_is_refused(tmp_path):
    with pytest.raises(InvalidForgetSpecError, match="does not exist"):
        select_classification_forget(parse_forget_spec(f"ids:{tmp_path / 'none.txt'}"), LABELS, seed=0)
    (tmp_path / "ids.txt").write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(InvalidForgetSpecError, match="not UTF-8"):
        select_classification_forget(parse_forget_spec(f"ids:{tmp_path / 'ids.txt'}"), LABELS, seed=0)


def test_unsupported_kind_for_classification_is_refused():
    with pytest.raises(InvalidForgetSpecError, match="classification does not support forget kind 'edges'"):
        select_classification_forget(parse_forget_spec("edges:0.1"), LABELS, seed=0)


def test_check_indices_sorts_valid_indices_and_refuses_masks_and_fractions():
    assert check_indices(np.array([5, 1, 3]), 10).tolist() == [1, 3, 5]
    assert check_indices([2.0, 4.0], 10).tolist() == [2, 4]
    with pytest.raises(InvalidForgetSpecError, match="boolean mask"):
        check_indices(LABELS == 1, 10)
    with pytest.raises(InvalidForgetSpecError, match="must be integers"):
        check_indices(np.array([1.5, 2.0]), 10)
    with pytest.raises(InvalidForgetSpecError, match="one-dimensional"):
        check_indices(np.array([[1, 2]]), 10)
