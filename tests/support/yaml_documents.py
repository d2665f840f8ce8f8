"""What the YAML writer's tests generate (hypothesis): documents of the shapes a template holds, with any string as a
key or a value. Imported by tests/unit (Python 3.10 with boto3, pytest and hypothesis) and tests/cli (with PyYAML)."""

from __future__ import annotations

from hypothesis import strategies as st

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text())
documents = st.dictionaries(
    st.text(),
    st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=16,
    ),
    min_size=1,
    max_size=6,
)
