"""``join_stream``'s ``viewer_info``: the spec's device types are taken, and nothing else is."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from interfaces.realtime.schemas import DEVICE_TYPES, JoinStream

SID = "0b1c6f8e-4a8e-4d6a-9a52-2f6a3c1d7e11"


@pytest.mark.parametrize("device", DEVICE_TYPES)
def test_every_device_type_the_spec_lists_is_taken(device: str) -> None:
    assert (
        JoinStream.model_validate({"stream_id": SID, "viewer_info": {"device_type": device}}).viewer_info.device_type
        == device
    )


def test_the_older_tv_is_counted_as_the_spec_s_smart_tv_and_no_device_is_unknown() -> None:
    assert (
        JoinStream.model_validate({"stream_id": SID, "viewer_info": {"device_type": "tv"}}).viewer_info.device_type
        == "smart_tv"
    )
    assert JoinStream.model_validate({"stream_id": SID}).viewer_info.device_type == "unknown"


@pytest.mark.parametrize("device", ["fridge", "SMART_TV", 3, None])
def test_other_device_types_are_refused(device: object) -> None:
    with pytest.raises(ValidationError):
        JoinStream.model_validate({"stream_id": SID, "viewer_info": {"device_type": device}})
